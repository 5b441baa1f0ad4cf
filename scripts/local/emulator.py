"""The embedded AWS emulator: moto's server, with what it does not do the way AWS does and a browser needs.

    python -m scripts.local.emulator -H 127.0.0.1 -p 5000      (started by scripts.local.stack)

Two differences matter to the web app, whose S3 uploads go from the page's origin to the emulator's:
- moto wraps every service in a CORS layer that allows any origin (flask-cors), so a page of any site could
  use the buckets; S3 answers CORS from each bucket's own rules, and only those. The blanket layer is off
  (MOTO_DISABLE_GLOBAL_CORS), so a bucket without rules refuses every cross-origin request, as on AWS.
- moto answers a presigned POST (the browser form upload) without the CORS headers of the bucket's rules, which
  S3 sends: the browser would hide a successful upload from the page. The one handler is wrapped to add them,
  with moto's own rule matching (the same it applies to GET and PUT).
Everything else is moto's server unchanged.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any


def answer_form_posts_with_cors() -> None:
    from moto.s3.responses import S3Response

    original = S3Response._bucket_response_post
    if getattr(original, "imgpipe_cors", False):
        return

    @functools.wraps(original)
    def with_cors(self: Any, request: Any, bucket_name: str) -> Any:
        status, headers, body = original(self, request, bucket_name)
        return status, {**self._get_cors_headers_other(), **headers}, body

    with_cors.imgpipe_cors = True  # type: ignore[attr-defined]
    S3Response._bucket_response_post = with_cors  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> None:
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"  # read by moto.settings when moto is first imported
    answer_form_posts_with_cors()
    from moto.server import main as serve

    serve(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
