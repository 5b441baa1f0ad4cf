# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.
# Every run is a whole plan of the module (~4 s of CPU on a 2-core machine, half of it the WAF ACL's schema), so the
# checks of the defaults share one run, and invalid settings are refused together, each by its own validation:
# expect_failures fails the run if any one of them is accepted. The default run asserts the web ACL, the retention
# runs its log group; the other runs set waf_enabled = false and assert what they are about without it
# (measured: the suite's CPU 86 -> 72 s).

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
      user_id    = "AIDATESTUSER"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
}

# Computed attributes are unknown in a plan; give the ones the assertions compare real-shaped values.
override_resource {
  target          = aws_secretsmanager_secret.api_keys
  override_during = plan
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/api-keys-AbCdEf"
  }
}

override_resource {
  target          = aws_secretsmanager_secret.api_key_pepper
  override_during = plan
  values = {
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/api-key-pepper-GhIjKl"
  }
}

override_resource {
  target          = aws_dynamodb_table.api_keys
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-api-keys"
  }
}

override_resource {
  target          = aws_api_gateway_rest_api.this
  override_during = plan
  values = {
    id               = "a1b2c3d4e5"
    root_resource_id = "r00t1d"
    execution_arn    = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
  }
}

override_resource {
  target          = aws_dynamodb_table.idempotency
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-api-idempotency"
  }
}

override_resource {
  target          = aws_api_gateway_authorizer.api_key
  override_during = plan
  values = {
    id = "auth01"
  }
}

override_resource {
  target          = module.function["upload_api"].aws_lambda_function.this
  override_during = plan
  values = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-upload_api"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-upload_api/invocations"
  }
}

override_resource {
  target          = module.function["upload_api"].aws_lambda_alias.live
  override_during = plan
  values = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-upload_api:live"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-upload_api:live/invocations"
  }
}

override_resource {
  target          = module.function["api_authorizer"].aws_lambda_alias.live
  override_during = plan
  values = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-api_authorizer:live"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-api_authorizer:live/invocations"
  }
}

override_resource {
  target          = module.function["api_authorizer"].aws_lambda_function.this
  override_during = plan
  values = {
    arn        = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-api_authorizer"
    invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-api_authorizer/invocations"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.this["access"]
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/imgpipe-test-api/live/access"
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.this["waf"]
  override_during = plan
  values = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-imgpipe-test-api"
  }
}

override_resource {
  target          = aws_api_gateway_stage.this
  override_during = plan
  values = {
    arn        = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/stages/live"
    invoke_url = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/live"
  }
}

override_resource {
  target          = aws_wafv2_web_acl.this
  override_during = plan
  values = {
    arn = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/imgpipe-test-api/0000-1111"
  }
}

variables {
  name_prefix           = "imgpipe-test"
  kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  raw_bucket_name       = "imgpipe-test-raw-123456789012"
  raw_bucket_arn        = "arn:aws:s3:::imgpipe-test-raw-123456789012"
  processed_bucket_name = "imgpipe-test-processed-123456789012"
  processed_bucket_arn  = "arn:aws:s3:::imgpipe-test-processed-123456789012"
  table_name            = "imgpipe-test-images"
  table_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images"
  cursor_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/22222222-3333-4444-5555-666666666666"
  functions = {
    upload_api = {
      filename         = "dist/lambda/upload_api.zip"
      source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    }
    api_authorizer = {
      filename         = "dist/lambda/api_authorizer.zip"
      source_code_hash = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
    }
  }
}

################################################################################
# Routes: authenticated, proxied to upload_api
################################################################################

run "the_default_api" {
  command = plan

  # every route is authenticated and proxied to upload api
  assert {
    condition     = toset(keys(aws_api_gateway_method.this)) == toset(["POST /v1/uploads", "PUT /v1/images", "GET /v1/images", "GET /v1/images/{image_id}", "DELETE /v1/images/{image_id}"])
    error_message = "The API must expose exactly POST /v1/uploads, PUT /v1/images, GET /v1/images, GET /v1/images/{image_id} and DELETE /v1/images/{image_id}."
  }

  assert {
    condition = alltrue([
      for m in aws_api_gateway_method.this : m.authorization == "CUSTOM" && m.authorizer_id == "auth01"
    ])
    error_message = "Every method must use CUSTOM authorization with the API-key authorizer (no anonymous route)."
  }

  assert {
    condition     = length(aws_api_gateway_method.cors) == 0 && length(aws_api_gateway_integration.cors) == 0
    error_message = "Without cors_allowed_origins there must be no OPTIONS (CORS) methods."
  }

  assert {
    condition = alltrue([
      for i in aws_api_gateway_integration.this :
      i.type == "AWS_PROXY" && i.integration_http_method == "POST" && i.uri == module.function["upload_api"].lambda_alias.invoke_arn
    ])
    error_message = "Every integration must be AWS_PROXY (POST) to upload_api."
  }

  assert {
    condition = alltrue([
      for route in ["GET /v1/images/{image_id}", "DELETE /v1/images/{image_id}"] :
      aws_api_gateway_method.this[route].request_parameters == tomap({ "method.request.path.image_id" = true })
    ])
    error_message = "GET and DELETE /v1/images/{image_id} must declare their path parameter."
  }

  assert {
    condition     = aws_api_gateway_resource.image.path_part == "{image_id}" && aws_api_gateway_resource.v1.path_part == "v1" && aws_api_gateway_resource.uploads.path_part == "uploads" && aws_api_gateway_resource.images.path_part == "images"
    error_message = "Resources must be /v1, /v1/uploads, /v1/images, /v1/images/{image_id}."
  }

  assert {
    condition = (
      aws_api_gateway_authorizer.api_key.type == "REQUEST" &&
      aws_api_gateway_authorizer.api_key.identity_source == "context.httpMethod" &&
      aws_api_gateway_authorizer.api_key.authorizer_result_ttl_in_seconds == 0 &&
      aws_api_gateway_authorizer.api_key.authorizer_uri == module.function["api_authorizer"].lambda_alias.invoke_arn
    )
    error_message = "The authorizer must be a REQUEST authorizer asked on every request (no header identity source, no cache: either credential header works and a revocation is not cached), backed by api_authorizer."
  }

  assert {
    condition = (
      aws_api_gateway_rest_api.this.name == "imgpipe-test-api" &&
      aws_api_gateway_rest_api.this.binary_media_types == tolist(["image/*"]) &&
      aws_api_gateway_rest_api.this.endpoint_configuration[0].types == tolist(["REGIONAL"]) &&
      aws_api_gateway_rest_api.this.disable_execute_api_endpoint == false
    )
    error_message = "The REST API must be <name_prefix>-api, REGIONAL, with binary media type image/* and the execute-api endpoint on."
  }

  assert {
    condition = (
      aws_lambda_permission.upload_api.principal == "apigateway.amazonaws.com" &&
      aws_lambda_permission.upload_api.source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/live/*/v1/*" &&
      aws_lambda_permission.api_authorizer.source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/authorizers/auth01"
    )
    error_message = "Invoke permissions must be scoped to this API's execution ARN (stage routes, and the authorizer)."
  }

  assert {
    condition     = keys(aws_api_gateway_deployment.this.triggers) == tolist(["redeployment"])
    error_message = "The deployment must be re-triggered by a sha1 of the API definition."
  }

  # gateway responses use the api error shape
  assert {
    condition = alltrue([
      for type, status in { UNAUTHORIZED = "401", ACCESS_DENIED = "403", MISSING_AUTHENTICATION_TOKEN = "404", REQUEST_TOO_LARGE = "413", THROTTLED = "429" } :
      aws_api_gateway_gateway_response.this[type].status_code == status
    ])
    error_message = "Gateway responses must exist for 401, 403, 404 (no such route), 413 and 429."
  }

  assert {
    condition     = aws_api_gateway_gateway_response.this["MISSING_AUTHENTICATION_TOKEN"].response_templates["application/json"] == "{\"error\": {\"code\": \"not_found\", \"message\": \"no such route\", \"request_id\": \"$context.requestId\"}}"
    error_message = "An unknown route must answer 404 not_found in the API's error shape, not API Gateway's 'Missing Authentication Token'."
  }

  assert {
    condition = alltrue([
      for type, code in {
        UNAUTHORIZED      = "unauthorized", ACCESS_DENIED = "forbidden", THROTTLED = "throttled",
        REQUEST_TOO_LARGE = "too_large", DEFAULT_4XX = "bad_request", DEFAULT_5XX = "internal_error"
      } :
      aws_api_gateway_gateway_response.this[type].response_templates["application/json"] ==
      "{\"error\": {\"code\": \"${code}\", \"message\": $context.error.messageString, \"request_id\": \"$context.requestId\"}}"
    ])
    error_message = "Gateway responses must answer {\"error\": {code, message, request_id}} with the stable codes."
  }

  assert {
    condition     = aws_api_gateway_gateway_response.this["DEFAULT_4XX"].status_code == null && aws_api_gateway_gateway_response.this["DEFAULT_5XX"].status_code == null
    error_message = "DEFAULT_4XX/5XX must keep the status of the underlying error."
  }

  # stage traces logs and throttles
  assert {
    condition     = aws_api_gateway_stage.this.stage_name == "live" && aws_api_gateway_stage.this.xray_tracing_enabled
    error_message = "The stage must be \"live\" by default with X-Ray tracing."
  }

  assert {
    condition     = aws_api_gateway_stage.this.access_log_settings[0].destination_arn == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/imgpipe-test-api/live/access"
    error_message = "Access logs must go to the module's access log group."
  }

  assert {
    condition = alltrue([
      for field in ["requestId", "ip", "caller", "requestTime", "httpMethod", "resourcePath", "status", "protocol", "responseLength", "integrationLatency", "authorizerError"] :
      contains(keys(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format)), field)
    ])
    error_message = "The access log format must be JSON with the request fields."
  }

  assert {
    condition = alltrue([
      for v in values(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format)) :
      !strcontains(lower(v), "header") && !strcontains(lower(v), "body") && !strcontains(lower(v), "querystring")
    ])
    error_message = "The access log must carry no headers, bodies or query strings."
  }

  assert {
    condition = (
      aws_api_gateway_method_settings.all.method_path == "*/*" &&
      aws_api_gateway_method_settings.all.settings[0].metrics_enabled &&
      aws_api_gateway_method_settings.all.settings[0].logging_level == "INFO" &&
      aws_api_gateway_method_settings.all.settings[0].data_trace_enabled == false
    )
    error_message = "All methods: metrics on, INFO execution logs, and never data tracing (no bodies in logs)."
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 50 && aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 100
    error_message = "Default throttling must be 50 req/s, burst 100."
  }

  assert {
    condition     = output.invoke_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/live" && output.stage_name == "live"
    error_message = "invoke_url and stage_name outputs must come from the stage."
  }

  # log groups with retention days 7
  assert {
    condition     = toset(keys(merge({ for k, m in module.function : k => m.log_group }, aws_cloudwatch_log_group.this))) == toset(["upload_api", "api_authorizer", "access", "execution", "waf"])
    error_message = "Function, access, execution and WAF log groups must be created by the module."
  }

  assert {
    condition     = alltrue([for g in merge({ for k, m in module.function : k => m.log_group }, aws_cloudwatch_log_group.this) : g.retention_in_days == 7 && g.kms_key_id == var.kms_key_arn])
    error_message = "retention_days 7: every log group keeps 7 days and is encrypted with the CMK."
  }

  assert {
    condition = (
      module.function["upload_api"].log_group.name == "/aws/lambda/imgpipe-test-upload_api" &&
      module.function["api_authorizer"].log_group.name == "/aws/lambda/imgpipe-test-api_authorizer" &&
      aws_cloudwatch_log_group.this["execution"].name == "API-Gateway-Execution-Logs_a1b2c3d4e5/live" &&
      aws_cloudwatch_log_group.this["waf"].name == "aws-waf-logs-imgpipe-test-api"
    )
    error_message = "Log group names must be the ones Lambda, API Gateway and WAF write to."
  }

  # upload api concurrency is unreserved by default and reserved when asked
  assert {
    condition     = alltrue([for f in { for k, m in module.function : k => m.lambda_function } : f.reserved_concurrent_executions == -1])
    error_message = "By default no function reserves concurrency (a default would fail on small accounts)."
  }

  # functions shape tags and settings
  assert {
    condition     = toset(keys({ for k, m in module.function : k => m.lambda_function })) == toset(["upload_api", "api_authorizer"])
    error_message = "Both functions must be created."
  }

  assert {
    condition = alltrue([
      for k, f in { for k, m in module.function : k => m.lambda_function } :
      f.function_name == "imgpipe-test-${k}" && f.runtime == "python3.12" && f.handler == "handler.handler" &&
      f.architectures == tolist(["arm64"]) && f.tracing_config[0].mode == "Active" && f.kms_key_arn == var.kms_key_arn &&
      f.filename == var.functions[k].filename && f.source_code_hash == var.functions[k].source_code_hash
    ])
    error_message = "Functions: <name_prefix>-<key>, python3.12, handler.handler, arm64 by default, X-Ray Active, CMK env encryption, code from var.functions."
  }

  assert {
    condition = alltrue([
      for k, f in { for k, m in module.function : k => m.lambda_function } :
      f.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_RESPONSE == "false" && f.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_ERROR == "false"
    ])
    error_message = "X-Ray keeps traces 30 days: no function may capture responses or errors (image metadata) into them."
  }

  assert {
    condition     = alltrue([for k, f in { for k, m in module.function : k => m.lambda_function } : try(f.tags["imgpipe:function"], "") == k])
    error_message = "Every function must carry the imgpipe:function tag naming its lambdas/ folder."
  }

  assert {
    condition = module.function["upload_api"].lambda_function.environment[0].variables == tomap({
      RAW_BUCKET                         = "imgpipe-test-raw-123456789012"
      PROCESSED_BUCKET                   = "imgpipe-test-processed-123456789012"
      TABLE_NAME                         = "imgpipe-test-images"
      KMS_KEY_ARN                        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      RAW_PREFIX                         = "raw/"
      MAX_UPLOAD_BYTES                   = "10485760"
      RETENTION_DAYS                     = "7"
      PRESIGN_SECONDS                    = "300"
      IDEMPOTENCY_TABLE                  = "imgpipe-test-api-idempotency"
      IDEMPOTENCY_SECONDS                = "3600"
      CURSOR_KEY_ID                      = "arn:aws:kms:us-east-1:123456789012:key/22222222-3333-4444-5555-666666666666"
      CORS_ALLOWED_ORIGINS               = ""
      POWERTOOLS_SERVICE_NAME            = "upload_api"
      QUOTAS                             = "{\"default\":{\"bytes_per_day\":10737418240,\"requests_per_minute\":600,\"uploads_per_day\":10000},\"tenants\":{}}"
      POWERTOOLS_METRICS_NAMESPACE       = "imgpipe"
      LOG_LEVEL                          = "INFO"
      POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
      POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
    })
    error_message = "upload_api must get exactly the settings its handler reads."
  }

  assert {
    condition = module.function["api_authorizer"].lambda_function.environment[0].variables == tomap({
      API_KEYS_TABLE                     = "imgpipe-test-api-keys"
      API_KEY_PEPPER_SECRET_ID           = "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/api-key-pepper-GhIjKl"
      API_KEYS_CACHE_SECONDS             = "60"
      POWERTOOLS_SERVICE_NAME            = "api_authorizer"
      POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
      POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
      JWT_ISSUER                         = ""
      JWT_CLIENT_IDS                     = ""
      JWT_JWKS_URL                       = ""
    })
    error_message = "api_authorizer must get exactly the settings its handler reads (no web users by default: bearer tokens refused)."
  }

  assert {
    condition = (
      module.function["upload_api"].lambda_function.memory_size == 1024 && module.function["upload_api"].lambda_function.timeout == 29 &&
      module.function["api_authorizer"].lambda_function.memory_size == 256 && module.function["api_authorizer"].lambda_function.timeout == 5
    )
    error_message = "Default sizing: upload_api 1024 MB / 29 s, api_authorizer 256 MB / 5 s."
  }

  assert {
    condition     = output.function_names == { upload_api = "imgpipe-test-upload_api", api_authorizer = "imgpipe-test-api_authorizer" }
    error_message = "function_names must map folder names to function names."
  }

  # function policies are least privilege
  assert {
    condition = alltrue(flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement :
        !contains(flatten([s.Resource]), "*") || toset(flatten([s.Action])) == toset(["xray:PutTraceSegments", "xray:PutTelemetryRecords"])
      ]
    ]))
    error_message = "No statement may use Resource \"*\" except the X-Ray trace actions."
  }

  assert {
    condition = alltrue(flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement : s.Effect == "Allow" && !anytrue([for a in flatten([s.Action]) : strcontains(a, "*")])
      ]
    ]))
    error_message = "Policies must list actions explicitly (no wildcards)."
  }

  assert {
    condition = flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement : [k, s.Resource] if contains(flatten([s.Action]), "s3:PutObject")
      ]
    ]) == ["upload_api", "arn:aws:s3:::imgpipe-test-raw-123456789012/raw/*"]
    error_message = "s3:PutObject only for upload_api, only on <raw bucket>/<raw_prefix>*."
  }

  assert {
    condition = flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement : [k, s.Resource] if contains(flatten([s.Action]), "secretsmanager:GetSecretValue")
      ]
    ]) == ["api_authorizer", "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/api-key-pepper-GhIjKl"]
    error_message = "secretsmanager:GetSecretValue only for api_authorizer, only on the pepper (never the legacy registry)."
  }

  assert {
    condition = flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement : [k, s.Action, s.Resource] if anytrue([for r in flatten([s.Resource]) : strcontains(r, "api-keys")])
      ]
    ]) == ["api_authorizer", "dynamodb:GetItem", "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-api-keys"]
    error_message = "Only the authorizer reaches the key table, and only to read one key's item (no scan, no write)."
  }

  assert {
    condition = [
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : [s.Resource, s.Condition]
      if contains(flatten([s.Action]), "s3:ListBucketVersions")
      ] == [
      ["arn:aws:s3:::imgpipe-test-raw-123456789012", { StringLike = { "s3:prefix" = ["raw/*"] } }],
      ["arn:aws:s3:::imgpipe-test-processed-123456789012", { StringLike = { "s3:prefix" = ["renditions/*"] } }],
    ]
    error_message = "Listing versions must be limited to the raw prefix of the raw bucket and the renditions prefix of the processed bucket."
  }

  assert {
    condition = [
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : s.Resource
      if contains(flatten([s.Action]), "s3:DeleteObjectVersion")
      ] == [
      "arn:aws:s3:::imgpipe-test-raw-123456789012/raw/*",
      "arn:aws:s3:::imgpipe-test-processed-123456789012/renditions/*",
    ]
    error_message = "Purges (a failed upload, DELETE /v1/images/{id}) must be limited to the raw and renditions prefixes."
  }

  assert {
    condition = [
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : s.Resource
      if contains(flatten([s.Action]), "dynamodb:DeleteItem")
      ] == [
      "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images",
      aws_dynamodb_table.idempotency.arn,
    ]
    error_message = "upload_api deletes image items (DELETE /v1/images/{id}) on the table only, and its own idempotency records."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : s.Resource
      if contains(flatten([s.Action]), "s3:GetObject")
    ]) == "arn:aws:s3:::imgpipe-test-processed-123456789012/*"
    error_message = "upload_api reads (signs links to) processed objects only."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : s.Resource
      if contains(flatten([s.Action]), "dynamodb:Query")
      ]) == [
      "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images",
      "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images/index/*",
    ]
    error_message = "DynamoDB access must be limited to the metadata table and its indexes."
  }

  assert {
    condition = alltrue(flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement :
        s.Resource == (s.Sid == "SignAndVerifyCursors" ? var.cursor_key_arn : var.kms_key_arn)
        if anytrue([for a in flatten([s.Action]) : startswith(a, "kms:")])
      ]
    ]))
    error_message = "KMS permissions must name the environment key only (and the cursor MAC key for signing cursors)."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : s.Action if s.Sid == "SignAndVerifyCursors"
    ]) == ["kms:GenerateMac", "kms:VerifyMac"] && module.function["upload_api"].lambda_function.environment[0].variables.CURSOR_KEY_ID == var.cursor_key_arn
    error_message = "upload_api signs and verifies its cursors with the cursor key, and nothing else with it."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function["api_authorizer"].iam_role_policy.policy).Statement : s.Condition
      if contains(flatten([s.Action]), "kms:Decrypt")
    ]) == { StringEquals = { "kms:ViaService" = ["dynamodb.us-east-1.amazonaws.com", "secretsmanager.us-east-1.amazonaws.com", "lambda.us-east-1.amazonaws.com"] } }
    error_message = "The authorizer may decrypt only through DynamoDB (key table), Secrets Manager (pepper) and Lambda (its own environment)."
  }

  assert {
    condition = alltrue([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } :
      one([for s in jsondecode(p.policy).Statement : s.Resource if contains(flatten([s.Action]), "logs:PutLogEvents")]) ==
      "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/imgpipe-test-${k}:*"
    ])
    error_message = "Each function may write only to its own log group."
  }

  assert {
    condition = alltrue(flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement :
        !anytrue([for a in flatten([s.Action]) : startswith(a, "s3:") || (startswith(a, "dynamodb:") && s.Sid != "ReadKeyRecords")])
      ] if k == "api_authorizer"
    ]))
    error_message = "The authorizer must have no S3 access, and no DynamoDB access but reading key records."
  }

  assert {
    condition = alltrue([
      for k, r in { for k, m in module.function : k => m.iam_role } :
      r.name == "imgpipe-test-${k}" && jsondecode(r.assume_role_policy).Statement[0].Principal.Service == "lambda.amazonaws.com"
    ])
    error_message = "One role per function, assumable by Lambda only."
  }

  assert {
    condition     = alltrue([for k, p in { for k, m in module.function : k => m.iam_role_policy } : p.role == module.function[k].iam_role.name && p.role == "imgpipe-test-${k}"])
    error_message = "Each policy must be attached to its own function's role."
  }

  # key table and pepper
  assert {
    condition = (
      aws_dynamodb_table.api_keys.name == "imgpipe-test-api-keys" && aws_dynamodb_table.api_keys.hash_key == "key_id" &&
      one(aws_dynamodb_table.api_keys.server_side_encryption).kms_key_arn == var.kms_key_arn &&
      one(aws_dynamodb_table.api_keys.point_in_time_recovery).enabled &&
      aws_dynamodb_table.api_keys.deletion_protection_enabled
    )
    error_message = "The key table: one item per key_id, CMK-encrypted, point-in-time recovery, deletion protection."
  }

  assert {
    condition = (
      aws_secretsmanager_secret.api_key_pepper.name == "imgpipe-test/api-key-pepper" &&
      aws_secretsmanager_secret.api_key_pepper.kms_key_id == var.kms_key_arn &&
      output.api_keys_table_name == "imgpipe-test-api-keys" && output.api_key_pepper_secret_name == "imgpipe-test/api-key-pepper"
    )
    error_message = "The pepper secret: <name_prefix>/api-key-pepper, CMK-encrypted; both named in the outputs."
  }

  # legacy key registry secret
  assert {
    condition = (
      aws_secretsmanager_secret.api_keys.name == "imgpipe-test/api-keys" &&
      aws_secretsmanager_secret.api_keys.kms_key_id == var.kms_key_arn &&
      aws_secretsmanager_secret.api_keys.recovery_window_in_days == 30
    )
    error_message = "The registry secret must be <name_prefix>/api-keys, CMK-encrypted, with a 30-day recovery window by default."
  }

  assert {
    condition     = jsondecode(aws_secretsmanager_secret_version.api_keys.secret_string) == { keys = [] }
    error_message = "The registry must start empty: {\"keys\": []}."
  }

  assert {
    condition     = output.api_keys_secret_name == "imgpipe-test/api-keys"
    error_message = "api_keys_secret_name output must name the secret."
  }

  # waf on by default
  assert {
    condition     = length(aws_wafv2_web_acl.this) == 1 && aws_wafv2_web_acl.this[0].scope == "REGIONAL" && length(aws_wafv2_web_acl.this[0].default_action[0].allow) == 1
    error_message = "A regional web ACL (default allow) must protect the API by default."
  }

  assert {
    condition = flatten([
      for r in aws_wafv2_web_acl.this[0].rule : [
        for o in r.statement[0].managed_rule_group_statement[0].rule_action_override : [o.name, length(o.action_to_use[0].count)]
      ] if try(r.statement[0].managed_rule_group_statement[0].name, "") == "AWSManagedRulesCommonRuleSet"
    ]) == ["SizeRestrictions_BODY", 1]
    error_message = "The common rule set must override exactly SizeRestrictions_BODY to count (image uploads are larger than 8 KB)."
  }

  assert {
    condition = length([
      for r in aws_wafv2_web_acl.this[0].rule : r
      if try(r.statement[0].managed_rule_group_statement[0].name, "") == "AWSManagedRulesCommonRuleSet"
    ]) == 1
    error_message = "The AWS common rule set must be used."
  }

  assert {
    condition = length([
      for r in aws_wafv2_web_acl.this[0].rule : r
      if try(r.statement[0].managed_rule_group_statement[0].name, "") == "AWSManagedRulesKnownBadInputsRuleSet" &&
      try(length(r.statement[0].managed_rule_group_statement[0].rule_action_override), -1) == 0
    ]) == 1
    error_message = "The known-bad-inputs rule set must be used without overrides."
  }

  assert {
    condition = one([
      for r in aws_wafv2_web_acl.this[0].rule :
      [r.statement[0].rate_based_statement[0].limit, r.statement[0].rate_based_statement[0].aggregate_key_type, r.action[0].block[0].custom_response[0].response_code]
      if length(r.statement[0].rate_based_statement) == 1
    ]) == [2000, "IP", 429]
    error_message = "A per-IP rate rule (2000 per 5 min by default) must block with 429."
  }

  assert {
    condition = one([
      for r in aws_wafv2_web_acl.this[0].rule : r.priority
      if try(r.statement[0].and_statement[0].statement[0].label_match_statement[0].key, "") == "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
      ]) > one([
      for r in aws_wafv2_web_acl.this[0].rule : r.priority
      if try(r.statement[0].managed_rule_group_statement[0].name, "") == "AWSManagedRulesCommonRuleSet"
    ])
    error_message = "Large bodies must be blocked again (after the common rule set labels them) on every route but direct uploads."
  }

  assert {
    condition = alltrue([
      for r in aws_wafv2_web_acl.this[0].rule : r.visibility_config[0].cloudwatch_metrics_enabled && r.visibility_config[0].sampled_requests_enabled
    ]) && aws_wafv2_web_acl.this[0].visibility_config[0].cloudwatch_metrics_enabled
    error_message = "Every rule and the ACL must publish metrics and sampled requests."
  }

  assert {
    condition     = aws_wafv2_web_acl_association.this[0].resource_arn == "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/stages/live"
    error_message = "The web ACL must be associated with the stage."
  }

  assert {
    condition = (
      aws_wafv2_web_acl_logging_configuration.this[0].log_destination_configs == toset(["arn:aws:logs:us-east-1:123456789012:log-group:aws-waf-logs-imgpipe-test-api"]) &&
      contains([for f in aws_wafv2_web_acl_logging_configuration.this[0].redacted_fields : f.single_header[0].name], "x-api-key")
    )
    error_message = "WAF must log to aws-waf-logs-<name_prefix>-api with the x-api-key header redacted."
  }

  assert {
    condition     = output.waf_web_acl_arn == "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/imgpipe-test-api/0000-1111"
    error_message = "waf_web_acl_arn must be the web ACL's ARN."
  }

  # account logging role is opt in
  assert {
    condition     = length(aws_api_gateway_account.this) == 0 && length(aws_iam_role.apigateway_cloudwatch) == 0
    error_message = "The account-wide API Gateway logging role must not be managed by default."
  }

  # no custom domain by default
  assert {
    condition     = length(aws_api_gateway_domain_name.this) == 0 && !aws_api_gateway_rest_api.this.disable_execute_api_endpoint
    error_message = "Without a custom domain the execute-api endpoint serves the API."
  }

  # triggers invoke the live alias of a published version
  assert {
    condition = (
      alltrue([for f in { for k, m in module.function : k => m.lambda_function } : f.publish]) &&
      alltrue([for k, a in { for k, m in module.function : k => m.lambda_alias } : a.name == "live" && a.function_name == "imgpipe-test-${k}"]) &&
      aws_lambda_permission.upload_api.qualifier == "live" && aws_lambda_permission.api_authorizer.qualifier == "live" &&
      endswith(aws_api_gateway_authorizer.api_key.authorizer_uri, ":live/invocations") &&
      alltrue([for i in aws_api_gateway_integration.this : endswith(i.uri, ":live/invocations")])
    )
    error_message = "API Gateway invokes (and may invoke only) the live alias of each published function: a rollback is one alias update."
  }
}

################################################################################
# Stage: tracing, access logs, throttling, no body logging
################################################################################

run "throttling_and_stage_name_are_configurable" {
  command = plan

  variables {
    stage_name             = "v2024"
    throttling_rate_limit  = 5
    throttling_burst_limit = 10
  }

  assert {
    condition     = aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 5 && aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 10
    error_message = "Throttling variables must reach the method settings."
  }

  assert {
    condition     = aws_api_gateway_stage.this.stage_name == "v2024" && aws_cloudwatch_log_group.this["execution"].name == "API-Gateway-Execution-Logs_a1b2c3d4e5/v2024"
    error_message = "stage_name must name the stage and its execution log group."
  }
}

################################################################################
# Log groups: KMS-encrypted, retention <= retention_days
################################################################################

run "log_groups_with_retention_days_3" {
  command = plan

  variables {
    retention_days = 3
  }

  assert {
    condition     = alltrue([for g in merge({ for k, m in module.function : k => m.log_group }, aws_cloudwatch_log_group.this) : g.retention_in_days == 3 && g.retention_in_days <= var.retention_days && g.kms_key_id == var.kms_key_arn])
    error_message = "retention_days 3: every log group keeps 3 days, KMS-encrypted."
  }
}

run "log_groups_with_retention_days_1" {
  command = plan

  variables {
    retention_days = 1
  }

  assert {
    condition     = alltrue([for g in merge({ for k, m in module.function : k => m.log_group }, aws_cloudwatch_log_group.this) : g.retention_in_days == 1 && g.kms_key_id == var.kms_key_arn])
    error_message = "retention_days 1: every log group keeps 1 day, KMS-encrypted."
  }

  assert {
    condition     = module.function["upload_api"].lambda_function.environment[0].variables.RETENTION_DAYS == "1"
    error_message = "upload_api must receive RETENTION_DAYS."
  }
}

run "log_retention_rounds_down_to_a_cloudwatch_value" {
  command = plan

  variables {
    retention_days = 6
  }

  assert {
    condition     = alltrue([for g in merge({ for k, m in module.function : k => m.log_group }, aws_cloudwatch_log_group.this) : g.retention_in_days == 5]) && output.log_retention_days == 5
    error_message = "retention_days 6 is no CloudWatch value: logs must keep 5 days (never longer than the data)."
  }
}

################################################################################
# Functions
################################################################################

run "upload_api_reserved_concurrency_applies_to_upload_api_only" {
  command = plan

  variables {
    waf_enabled                     = false
    upload_api_reserved_concurrency = 7
  }

  assert {
    condition     = module.function["upload_api"].lambda_function.reserved_concurrent_executions == 7
    error_message = "upload_api must reserve the concurrency it is given."
  }

  assert {
    condition     = module.function["api_authorizer"].lambda_function.reserved_concurrent_executions == -1
    error_message = "The authorizer must not reserve upload_api's concurrency."
  }
}

run "rejects_invalid_settings" {
  command = plan

  variables {
    # upload api reserved concurrency zero is refused
    upload_api_reserved_concurrency = 0
    # web users must name a cognito pool
    web_users = {
      issuer     = "https://login.example.com/realm"
      client_ids = ["abc"]
      jwks_url   = "https://login.example.com/realm/jwks"
    }
    # quota limits must be positive whole numbers
    quotas = { tenants = { "team-a" = { uploads_per_day = 0 } } }
    # registry cache is bounded by the revocation promise
    api_keys_cache_seconds = 61
    # idempotency window is bounded
    idempotency_seconds = 172800
    # rejects functions without the authorizer
    functions = {
      upload_api = {
        filename         = "dist/lambda/upload_api.zip"
        source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
      }
    }
    # rejects retention days 8
    retention_days = 8
    # rejects stage name with capitals
    stage_name = "Bad"
    # rejects max upload bytes 0
    max_upload_bytes = 0
    # rejects raw prefix without trailing slash
    raw_prefix = "raw"
    # rejects presign seconds over 900
    presign_seconds = 901
    # rejects wildcard cors origin
    cors_allowed_origins = ["*"]
    # rejects unknown architecture
    lambda_architecture = "arm"
    # rejects kms alias instead of arn
    kms_key_arn = "alias/imgpipe-test"
    # rejects a custom domain without an acm certificate
    custom_domain = { domain_name = "images.example.com", certificate_arn = "arn:aws:iam::123456789012:server-certificate/x" }
  }

  expect_failures = [
    var.upload_api_reserved_concurrency,
    var.web_users,
    var.quotas,
    var.api_keys_cache_seconds,
    var.idempotency_seconds,
    var.functions,
    var.retention_days,
    var.stage_name,
    var.max_upload_bytes,
    var.raw_prefix,
    var.presign_seconds,
    var.cors_allowed_origins,
    var.lambda_architecture,
    var.kms_key_arn,
    var.custom_domain,
  ]
}

run "web_users_reach_the_authorizer" {
  command = plan

  variables {
    waf_enabled = false
    web_users = {
      issuer     = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"
      client_ids = ["4pq0example1client2id3", "second-client"]
      jwks_url   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz/.well-known/jwks.json"
    }
  }

  assert {
    condition = (
      module.function["api_authorizer"].lambda_function.environment[0].variables.JWT_ISSUER == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz" &&
      module.function["api_authorizer"].lambda_function.environment[0].variables.JWT_CLIENT_IDS == "4pq0example1client2id3,second-client" &&
      module.function["api_authorizer"].lambda_function.environment[0].variables.JWT_JWKS_URL == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz/.well-known/jwks.json"
    )
    error_message = "The pool's issuer, client ids and JWKS URL must reach api_authorizer."
  }
}

run "rejects_other_invalid_values_of_the_same_settings" {
  command = plan

  variables {
    # web users need a client
    web_users = {
      issuer     = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz"
      client_ids = []
      jwks_url   = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz/.well-known/jwks.json"
    }
    # quota tenants must be tenant ids
    quotas = { tenants = { "Team A" = { uploads_per_day = 5 } } }
    # rejects functions with an unknown key
    functions = {
      upload_api = {
        filename         = "dist/lambda/upload_api.zip"
        source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
      }
      api_authorizer = {
        filename         = "dist/lambda/api_authorizer.zip"
        source_code_hash = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
      }
      uploader = {
        filename         = "dist/lambda/uploader.zip"
        source_code_hash = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
      }
    }
    # rejects max upload bytes over 10 mib
    max_upload_bytes = 10485761
  }

  expect_failures = [
    var.web_users,
    var.quotas,
    var.functions,
    var.max_upload_bytes,
  ]
}

run "quotas_per_tenant_reach_upload_api" {
  command = plan

  variables {
    waf_enabled = false
    quotas = {
      default = { uploads_per_day = 500 }
      tenants = { "team-a" = { bytes_per_day = 1048576 }, "team-b" = { requests_per_minute = 30, uploads_per_day = 2 } }
    }
  }

  assert {
    condition = jsondecode(module.function["upload_api"].lambda_function.environment[0].variables.QUOTAS) == {
      default = { uploads_per_day = 500, bytes_per_day = 10737418240, requests_per_minute = 600 }
      tenants = { "team-a" = { bytes_per_day = 1048576 }, "team-b" = { requests_per_minute = 30, uploads_per_day = 2 } }
    }
    error_message = "The default fills unset limits; a tenant's entry carries only what it overrides."
  }
}

run "function_settings_follow_variables" {
  command = plan

  variables {
    waf_enabled         = false
    lambda_architecture = "x86_64"
    max_upload_bytes    = 5242880
    presign_seconds     = 900
    raw_prefix          = "incoming/raw/"
    log_level           = "WARNING"
    tags                = { "imgpipe:function" = "somewhere-else", team = "media" }
  }

  assert {
    condition     = alltrue([for f in { for k, m in module.function : k => m.lambda_function } : f.architectures == tolist(["x86_64"])])
    error_message = "lambda_architecture must reach both functions."
  }

  assert {
    condition = (
      module.function["upload_api"].lambda_function.environment[0].variables.MAX_UPLOAD_BYTES == "5242880" &&
      module.function["upload_api"].lambda_function.environment[0].variables.PRESIGN_SECONDS == "900" &&
      module.function["upload_api"].lambda_function.environment[0].variables.RAW_PREFIX == "incoming/raw/" &&
      module.function["upload_api"].lambda_function.environment[0].variables.LOG_LEVEL == "WARNING"
    )
    error_message = "Upload settings must reach upload_api's environment."
  }

  assert {
    condition     = alltrue([for k, f in { for k, m in module.function : k => m.lambda_function } : try(f.tags["imgpipe:function"], "") == k && try(f.tags["team"], "") == "media"])
    error_message = "Caller tags are added, but can never replace the imgpipe:function tag."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function["upload_api"].iam_role_policy.policy).Statement : s.Resource if s.Sid == "WriteRawObjects"
    ]) == "arn:aws:s3:::imgpipe-test-raw-123456789012/incoming/raw/*"
    error_message = "PutObject must follow raw_prefix."
  }
}

################################################################################
# Idempotency records: encrypted, expiring, only upload_api may touch them
################################################################################

run "idempotency_table_is_encrypted_expiring_and_private_to_upload_api" {
  command = plan

  variables {
    idempotency_seconds  = 600
    cors_allowed_origins = ["https://app.example.com", "http://localhost:3000"]
  }

  assert {
    condition = (
      aws_dynamodb_table.idempotency.hash_key == "id" &&
      aws_dynamodb_table.idempotency.billing_mode == "PAY_PER_REQUEST" &&
      one(aws_dynamodb_table.idempotency.ttl).enabled && one(aws_dynamodb_table.idempotency.ttl).attribute_name == "expiration" &&
      one(aws_dynamodb_table.idempotency.server_side_encryption).enabled &&
      one(aws_dynamodb_table.idempotency.server_side_encryption).kms_key_arn == var.kms_key_arn
    )
    error_message = "The idempotency table: key id, TTL on expiration (Powertools' attribute), SSE with the CMK."
  }

  assert {
    condition = flatten([
      for k, p in { for k, m in module.function : k => m.iam_role_policy } : [
        for s in jsondecode(p.policy).Statement : [k, s.Resource] if anytrue([for r in flatten([s.Resource]) : strcontains(r, "idempotency")])
      ]
    ]) == ["upload_api", "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-api-idempotency"]
    error_message = "Only upload_api may use the idempotency table, and nothing else through that statement."
  }

  assert {
    condition = (
      module.function["upload_api"].lambda_function.environment[0].variables.IDEMPOTENCY_SECONDS == "600" &&
      module.function["upload_api"].lambda_function.environment[0].variables.CORS_ALLOWED_ORIGINS == "https://app.example.com,http://localhost:3000"
    )
    error_message = "idempotency_seconds and cors_allowed_origins must reach upload_api."
  }
}

################################################################################
# IAM: least privilege
################################################################################

################################################################################
# Key registry secret
################################################################################

################################################################################
# WAF
################################################################################

run "waf_can_be_disabled" {
  command = plan

  variables {
    waf_enabled = false
  }

  assert {
    condition = (
      length(aws_wafv2_web_acl.this) == 0 && length(aws_wafv2_web_acl_association.this) == 0 &&
      length(aws_wafv2_web_acl_logging_configuration.this) == 0 && !contains(keys(merge({ for k, m in module.function : k => m.log_group }, aws_cloudwatch_log_group.this)), "waf")
    )
    error_message = "waf_enabled = false must remove the web ACL, its association, logging and log group."
  }

  assert {
    condition     = output.waf_web_acl_arn == null
    error_message = "waf_web_acl_arn must be null without WAF."
  }
}

################################################################################
# CORS (opt-in) and the account logging role (opt-in)
################################################################################

run "cors_only_when_origins_are_given" {
  command = plan

  variables {
    waf_enabled          = false
    cors_allowed_origins = ["https://app.example.com", "http://localhost:3000"]
  }

  assert {
    condition = (
      toset(keys(aws_api_gateway_method.cors)) == toset(["/v1/uploads", "/v1/images", "/v1/images/{image_id}"]) &&
      alltrue([for m in aws_api_gateway_method.cors : m.http_method == "OPTIONS"]) &&
      alltrue([for i in aws_api_gateway_integration.cors : i.type == "MOCK"])
    )
    error_message = "With origins, each resource gets an OPTIONS method answered by a MOCK integration (no backend)."
  }

  assert {
    condition = alltrue([
      for r in aws_api_gateway_integration_response.cors :
      strcontains(r.response_templates["application/json"], "'https://app.example.com', 'http://localhost:3000'") &&
      !strcontains(r.response_templates["application/json"], "'*'")
    ])
    error_message = "Preflights must echo only the allowed origins, never \"*\"."
  }

  assert {
    condition     = alltrue([for m in aws_api_gateway_method.this : m.authorization == "CUSTOM"])
    error_message = "CORS must not open the API routes."
  }
}

run "account_logging_role_when_asked" {
  command = plan

  variables {
    waf_enabled                            = false
    manage_apigateway_account_logging_role = true
  }

  assert {
    condition = (
      length(aws_api_gateway_account.this) == 1 &&
      jsondecode(aws_iam_role.apigateway_cloudwatch[0].assume_role_policy).Statement[0].Principal.Service == "apigateway.amazonaws.com" &&
      aws_iam_role_policy_attachment.apigateway_cloudwatch[0].policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
    )
    error_message = "manage_apigateway_account_logging_role = true must register an API Gateway CloudWatch role."
  }
}

run "binary_media_types_can_be_left_unmanaged_for_emulators" {
  command = plan

  variables {
    waf_enabled            = false
    set_binary_media_types = false
  }

  assert {
    condition     = length(coalesce(aws_api_gateway_rest_api.this.binary_media_types, [])) == 0 && output.binary_media_types == ["image/*"]
    error_message = "set_binary_media_types = false leaves the attribute unmanaged; the output still states the API's contract."
  }
}

################################################################################
# Input validation
################################################################################

run "rejects_a_hex_source_code_hash" {
  command = plan

  variables {
    # rejects a hex source code hash
    functions = {
      upload_api = {
        filename         = "dist/lambda/upload_api.zip"
        source_code_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
      }
      api_authorizer = {
        filename         = "dist/lambda/api_authorizer.zip"
        source_code_hash = "LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564="
      }
    }
  }

  expect_failures = [
    var.functions,
  ]
}

run "a_custom_domain_pins_tls_1_2_and_closes_the_execute_api_endpoint" {
  command = plan

  variables {
    waf_enabled = false
    custom_domain = {
      domain_name     = "images.example.com"
      certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    }
  }

  assert {
    condition = (
      aws_api_gateway_domain_name.this[0].security_policy == "TLS_1_2" &&
      aws_api_gateway_domain_name.this[0].endpoint_configuration[0].types == tolist(["REGIONAL"]) &&
      aws_api_gateway_rest_api.this.disable_execute_api_endpoint &&
      aws_api_gateway_base_path_mapping.this[0].domain_name == "images.example.com" &&
      aws_api_gateway_base_path_mapping.this[0].stage_name == "live"
    )
    error_message = "The custom domain requires TLS 1.2, maps the stage, and is the only way in."
  }
}

