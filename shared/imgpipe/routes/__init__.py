"""upload_api's routes as Powertools Routers, one module per concern:

- `uploads`: POST /v1/uploads (a presigned upload) and PUT /v1/images (a direct upload, idempotent by key);
- `images`: GET /v1/images/{image_id} and GET /v1/images;
- `errors`: what a refusal, a quota, an idempotency conflict, an unknown route or a failure answers.

Each module's `router(api)` builds a new Router: a Router reads the request from the one resolver that
included it last, so a module-level Router would answer one function's requests from another's state when a
process loads the handler twice (the tests, the local runtime).
"""
