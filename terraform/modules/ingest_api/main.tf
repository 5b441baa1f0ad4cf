# The authenticated HTTP ingestion API: API Gateway (REST, regional) -> Lambda REQUEST authorizer (hashed key
# registry in Secrets Manager) -> upload_api (presigned POST / direct PUT uploads, image reads). Optional WAFv2 in
# front. Every log group is CMK-encrypted and keeps at most retention_days; bodies and keys are never logged.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  api_name = "${var.name_prefix}-api"

  # The lambdas/ folder names; also the keys of var.functions and of every per-function map below.
  function_keys  = ["upload_api", "api_authorizer"]
  function_names = { for k in local.function_keys : k => "${var.name_prefix}-${k}" }

  # CloudWatch Logs only accepts fixed retention values; the ones <= 7 days are 1, 3, 5 and 7. Take the largest
  # that does not exceed retention_days, so no log line outlives the data it describes.
  log_retention_days = max([for d in [1, 3, 5, 7] : d if d <= var.retention_days]...)

  # Every log group of the module, created here (not implicitly by the services) so each is KMS-encrypted and
  # expires. "execution" is the group API Gateway writes execution logs to; its name is fixed by AWS
  # (API-Gateway-Execution-Logs_<api id>/<stage>) and would otherwise be auto-created unencrypted, kept forever.
  # WAF requires its log group name to start with "aws-waf-logs-".
  # The functions' own log groups are module.function's.
  log_groups = merge(
    {
      access    = "/aws/apigateway/${local.api_name}/${var.stage_name}/access"
      execution = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
    },
    var.waf_enabled ? { waf = "aws-waf-logs-${local.api_name}" } : {},
  )
  raw_objects_arn = "${var.raw_bucket_arn}/${var.raw_prefix}*"

  # Each function's own statements; the module adds WriteOwnLogs (its log group) and WriteTraces (X-Ray, whose
  # "*" is the only one in the function policies: trace submission has no resource-level permissions).
  function_statements = {
    upload_api = [
      {
        # Direct uploads (PUT) and presigned POSTs (signed with this role's credentials) write raw objects.
        Sid      = "WriteRawObjects"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = local.raw_objects_arn
      },
      {
        # Compensating delete: a direct upload whose metadata item cannot be written removes its object again,
        # every version of it (ObjectStore.delete).
        Sid      = "DeleteRawObjectsOnFailedUpload"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
        Resource = local.raw_objects_arn
      },
      {
        # ObjectStore.delete lists the versions of the one key it removes; listing is limited to the raw prefix.
        Sid      = "ListRawObjectVersionsUnderPrefix"
        Effect   = "Allow"
        Action   = ["s3:ListBucketVersions"]
        Resource = var.raw_bucket_arn
        Condition = {
          StringLike = { "s3:prefix" = ["${var.raw_prefix}*"] }
        }
      },
      {
        # GET /v1/images/{id} returns presigned GET links to renditions, signed with this role's credentials.
        Sid      = "ReadProcessedObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${var.processed_bucket_arn}/*"
      },
      {
        Sid      = "ReadWriteImageMetadata"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]
        Resource = [var.table_arn, "${var.table_arn}/index/*"]
      },
      {
        # Powertools idempotency records for retried PUT /v1/images with an Idempotency-Key header.
        Sid      = "ReadWriteIdempotencyRecords"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = aws_dynamodb_table.idempotency.arn
      },
      {
        # SSE-KMS writes (data keys) and reads of CMK-encrypted objects and items, and Lambda's decryption of the
        # function's CMK-encrypted environment at cold start.
        Sid      = "UseEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = [for s in ["s3", "dynamodb", "lambda"] : "${s}.${local.region}.${local.dns_suffix}"] }
        }
      },
      {
        # Pagination cursors are authenticated with a MAC whose key stays in KMS (imgpipe.cursors).
        Sid      = "SignAndVerifyCursors"
        Effect   = "Allow"
        Action   = ["kms:GenerateMac", "kms:VerifyMac"]
        Resource = var.cursor_key_arn
      },
    ]

    api_authorizer = [
      {
        # One key's record at a time, by its id: never a scan, never a write.
        Sid      = "ReadKeyRecords"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem"]
        Resource = aws_dynamodb_table.api_keys.arn
      },
      {
        Sid      = "ReadKeyPepper"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = aws_secretsmanager_secret.api_key_pepper.arn
      },
      {
        # Decrypt only through DynamoDB (the key table), Secrets Manager (the pepper) and Lambda, which decrypts
        # the function's own CMK-encrypted environment with the execution role at cold start. Never directly.
        Sid      = "DecryptKeyRecordsPepperAndEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService" = [
              "dynamodb.${local.region}.${local.dns_suffix}",
              "secretsmanager.${local.region}.${local.dns_suffix}",
              "lambda.${local.region}.${local.dns_suffix}",
            ]
          }
        }
      },
    ]
  }

  # Environment variables exactly as the handlers read them (lambdas/*/handler.py, imgpipe.config).
  function_settings = {
    upload_api = {
      description = "${var.name_prefix}: HTTP ingestion API (presigned and direct uploads, image reads)"
      memory_size = var.upload_api_memory_mb
      timeout     = var.upload_api_timeout_seconds
      environment = {
        RAW_BUCKET              = var.raw_bucket_name
        PROCESSED_BUCKET        = var.processed_bucket_name
        TABLE_NAME              = var.table_name
        KMS_KEY_ARN             = var.kms_key_arn
        RAW_PREFIX              = var.raw_prefix
        MAX_UPLOAD_BYTES        = tostring(var.max_upload_bytes)
        RETENTION_DAYS          = tostring(var.retention_days)
        PRESIGN_SECONDS         = tostring(var.presign_seconds)
        IDEMPOTENCY_TABLE       = aws_dynamodb_table.idempotency.name
        IDEMPOTENCY_SECONDS     = tostring(var.idempotency_seconds)
        CURSOR_KEY_ID           = var.cursor_key_arn
        CORS_ALLOWED_ORIGINS    = join(",", var.cors_allowed_origins)
        POWERTOOLS_SERVICE_NAME = "upload_api"
        # Only the limits each tenant overrides are written; upload_api fills in the default (imgpipe.quotas).
        QUOTAS = jsonencode({
          default = var.quotas.default
          tenants = { for tenant, limits in var.quotas.tenants : tenant => { for k, v in limits : k => v if v != null } }
        })
        # X-Ray keeps traces 30 days, whatever the retention: no return values or error text (image metadata) there.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
        POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
        POWERTOOLS_METRICS_NAMESPACE       = "imgpipe"
        LOG_LEVEL                          = var.log_level
      }
    }
    api_authorizer = {
      description = "${var.name_prefix}: REQUEST authorizer for the ingestion API (API keys against the hashed key registry, Cognito access tokens)"
      memory_size = var.api_authorizer_memory_mb
      timeout     = var.api_authorizer_timeout_seconds
      environment = {
        API_KEYS_TABLE           = aws_dynamodb_table.api_keys.name
        API_KEY_PEPPER_SECRET_ID = aws_secretsmanager_secret.api_key_pepper.arn
        API_KEYS_CACHE_SECONDS   = tostring(var.api_keys_cache_seconds)
        POWERTOOLS_SERVICE_NAME  = "api_authorizer"
        # Empty: bearer tokens are refused (API keys only).
        JWT_ISSUER     = try(var.web_users.issuer, "")
        JWT_CLIENT_IDS = try(join(",", var.web_users.client_ids), "")
        JWT_JWKS_URL   = try(var.web_users.jwks_url, "")
        # X-Ray keeps traces 30 days, whatever the retention: no return values or error text there.
        POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
        POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
      }
    }
  }

  # The routes of docs/api/openapi.yaml. Each one: CUSTOM auth with the API-key authorizer, AWS_PROXY to upload_api.
  routes = {
    "POST /v1/uploads"          = { resource = "uploads", method = "POST", path_params = [] }
    "PUT /v1/images"            = { resource = "images", method = "PUT", path_params = [] }
    "GET /v1/images"            = { resource = "images", method = "GET", path_params = [] }
    "GET /v1/images/{image_id}" = { resource = "image", method = "GET", path_params = ["image_id"] }
  }
  # A caller proves itself with either header (x-api-key, or Authorization: Bearer with a key or a Cognito
  # access token). A header identity source would make API Gateway refuse, without asking the authorizer, any
  # request lacking one of its headers; the provider cannot leave the source empty (it defaults to the
  # Authorization header), so it names a context variable every request has. No cache: the authorizer runs on
  # every request, which is also what bounds a revocation by api_keys_cache_seconds alone.
  authorizer = {
    method_auth     = "CUSTOM"
    type            = "REQUEST"
    identity_source = "context.httpMethod"
    ttl_seconds     = 0
  }
  request_validation = { parameters = true, body = false }
  integration = {
    type                 = "AWS_PROXY"
    http_method          = "POST"
    timeout_milliseconds = 29000
  }
  resource_ids = {
    uploads = aws_api_gateway_resource.uploads.id
    images  = aws_api_gateway_resource.images.id
    image   = aws_api_gateway_resource.image.id
  }

  # Errors API Gateway answers itself, in the API's error shape (openapi.yaml components.schemas.Error).
  # $context.error.messageString is already a quoted JSON string. DEFAULT_* keep the status of the actual error.
  # MISSING_AUTHENTICATION_TOKEN is what a REST API answers for a path or method it does not have (this API signs
  # nothing with SigV4, so it never means anything else): 404 not_found, as the spec and the local gateway say,
  # instead of API Gateway's misleading 403.
  gateway_responses = {
    UNAUTHORIZED                 = { status_code = "401", code = "unauthorized", message = null }
    ACCESS_DENIED                = { status_code = "403", code = "forbidden", message = null }
    MISSING_AUTHENTICATION_TOKEN = { status_code = "404", code = "not_found", message = "no such route" }
    THROTTLED                    = { status_code = "429", code = "throttled", message = null }
    REQUEST_TOO_LARGE            = { status_code = "413", code = "too_large", message = null }
    DEFAULT_4XX                  = { status_code = null, code = "bad_request", message = null }
    DEFAULT_5XX                  = { status_code = null, code = "internal_error", message = null }
  }
  gateway_response_templates = {
    for type, r in local.gateway_responses :
    type => "{\"error\": {\"code\": \"${r.code}\", \"message\": ${r.message == null ? "$context.error.messageString" : jsonencode(r.message)}, \"request_id\": \"$context.requestId\"}}"
  }

  # One JSON line per request. Identifies the caller by key id (the authorizer's principalId), never by key;
  # no headers, no query strings, no bodies.
  access_log_format = {
    requestId          = "$context.requestId"
    ip                 = "$context.identity.sourceIp"
    caller             = "$context.identity.caller"
    keyId              = "$context.authorizer.principalId"
    requestTime        = "$context.requestTime"
    httpMethod         = "$context.httpMethod"
    resourcePath       = "$context.resourcePath"
    status             = "$context.status"
    protocol           = "$context.protocol"
    responseLength     = "$context.responseLength"
    integrationLatency = "$context.integrationLatency"
    authorizerError    = "$context.authorizer.error"
    wafStatus          = "$context.waf.status"
  }

  binary_media_types = ["image/*"]

  cors_enabled = length(var.cors_allowed_origins) > 0
  cors_resources = local.cors_enabled ? {
    "/v1/uploads"           = { resource_id = aws_api_gateway_resource.uploads.id, methods = "OPTIONS,POST" }
    "/v1/images"            = { resource_id = aws_api_gateway_resource.images.id, methods = "GET,OPTIONS,PUT" }
    "/v1/images/{image_id}" = { resource_id = aws_api_gateway_resource.image.id, methods = "GET,OPTIONS" }
  } : {}
  cors_static_headers = {
    "method.response.header.Access-Control-Allow-Headers" = "'authorization,content-type,x-api-key'"
    "method.response.header.Access-Control-Max-Age"       = "'600'"
    "method.response.header.Vary"                         = "'Origin'"
  }
  # Preflight answer: the request's Origin is echoed only when it is one of cors_allowed_origins (a static
  # header cannot name several origins, and "*" is never used). Origins are validated, so they embed safely.
  cors_response_template = join("\n", [
    "#set($origin = $input.params().header.get('Origin'))",
    "#if(\"$!origin\" == \"\")#set($origin = $input.params().header.get('origin'))#end",
    "#set($allowed = [${join(", ", [for o in var.cors_allowed_origins : "'${o}'"])}])",
    "#if($allowed.contains($origin))",
    "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
    "#end",
  ])
}

# Everything a deployment snapshots, taken from configuration (the providers' read-back values differ in
# representation, e.g. an unset status_code reads back as "", an empty request_parameters map as null, which
# would redeploy on every plan) plus the ids of the API objects (a replaced object redeploys too).
locals {
  deployment_fingerprint = {
    binary_media_types = var.set_binary_media_types ? local.binary_media_types : []
    authorizer         = local.authorizer
    request_validation = local.request_validation
    routes             = local.routes
    integration        = local.integration
    upload_api_uri     = module.function["upload_api"].alias_invoke_arn
    authorizer_uri     = module.function["api_authorizer"].alias_invoke_arn
    gateway_responses  = { for k, r in local.gateway_responses : k => [r.status_code, local.gateway_response_templates[k]] }
    cors               = [local.cors_response_template, local.cors_static_headers, { for k, c in local.cors_resources : k => c.methods }]
    ids = concat(
      [
        aws_api_gateway_resource.v1.id,
        aws_api_gateway_resource.uploads.id,
        aws_api_gateway_resource.images.id,
        aws_api_gateway_resource.image.id,
        aws_api_gateway_authorizer.api_key.id,
        aws_api_gateway_request_validator.parameters.id,
      ],
      [for k in sort(keys(local.routes)) : aws_api_gateway_method.this[k].id],
      [for k in sort(keys(local.routes)) : aws_api_gateway_integration.this[k].id],
      [for k in sort(keys(local.gateway_responses)) : aws_api_gateway_gateway_response.this[k].id],
      [for k in sort(keys(local.cors_resources)) : aws_api_gateway_integration_response.cors[k].id],
    )
  }
}

################################################################################
# API-key registry (hashes only)
################################################################################

# One item per key (key_id, digest, owner, tenant, revoked): issuing is a conditional put and revoking a conditional
# update of that key's item alone, so concurrent issues and revocations can never undo each other (the former
# registry was one document rewritten whole, and a concurrent issue could restore a revoked key). Only a peppered
# digest of each key is stored: HMAC-SHA256(pepper, SHA-256(secret)); the pepper lives in Secrets Manager, so
# the table alone (a backup, an export) verifies nothing.
resource "aws_dynamodb_table" "api_keys" {
  name                        = "${var.name_prefix}-api-keys"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "key_id"
  deletion_protection_enabled = var.api_keys_deletion_protection

  attribute {
    name = "key_id"
    type = "S"
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-api-keys" })
}

# The pepper has no version here: `make key` writes it once, on first use, with a fixed idempotency token (two
# first issues at once cannot write two peppers), so its value is in neither the state nor a plan.
resource "aws_secretsmanager_secret" "api_key_pepper" {
  #checkov:skip=CKV2_AWS_57:Every key's digest depends on the pepper: rotating it would revoke every API key at once. Keys are rotated instead (issue, then revoke).
  name                    = "${var.name_prefix}/api-key-pepper"
  description             = "${var.name_prefix}: pepper of the API-key digests in ${var.name_prefix}-api-keys (written once by scripts/keys.py)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.api_keys_secret_recovery_window_days

  tags = merge(var.tags, { Name = "${var.name_prefix}/api-key-pepper" })
}

# The registry of earlier releases (one JSON document of unpeppered hashes). Nothing reads it any more but
# `python -m scripts.keys migrate`, which moves its keys into the table; it goes in the next release.
resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:The secret is a registry of SHA-256 key hashes, not a credential; keys are issued and revoked by editing the registry, so automatic rotation has nothing to rotate.
  name                    = "${var.name_prefix}/api-keys"
  description             = "${var.name_prefix}: legacy API-key registry, read only by scripts/keys.py migrate"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.api_keys_secret_recovery_window_days

  tags = merge(var.tags, { Name = "${var.name_prefix}/api-keys" })
}

resource "aws_secretsmanager_secret_version" "api_keys" {
  secret_id     = aws_secretsmanager_secret.api_keys.id
  secret_string = jsonencode({ keys = [] })

  lifecycle {
    ignore_changes = [secret_string]
  }
}

################################################################################
# Idempotency records (Powertools): a retried upload with the same Idempotency-Key replays the first answer
################################################################################

resource "aws_dynamodb_table" "idempotency" {
  #checkov:skip=CKV_AWS_28:Records live idempotency_seconds (at most a day) and hold answers about images (ids, hashes, sizes), no image bytes; backups would only keep image-derived data past its TTL.
  name         = "${var.name_prefix}-api-idempotency"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-api-idempotency" })
}

################################################################################
# Log groups (CMK-encrypted, retention <= retention_days)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.log_groups

  #checkov:skip=CKV_AWS_338:Logs describe image-derived data, which is never kept longer than 7 days (retention_days); one year of retention would break that rule.
  name              = each.value
  retention_in_days = local.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = each.value })
}

################################################################################
# Functions: one role each, least privilege
################################################################################

module "function" {
  source   = "../lambda_function"
  for_each = local.function_settings

  name         = local.function_names[each.key]
  description  = each.value.description
  package      = var.functions[each.key]
  architecture = var.lambda_architecture
  memory_size  = each.value.memory_size
  timeout      = each.value.timeout
  # A burst of expensive direct uploads (each decoded within its budget) then queues behind its own share
  # instead of taking the account's concurrency from every other function. The authorizer is bounded in front
  # (stage throttling, WAF per-IP rate limit).
  reserved_concurrency = each.key == "upload_api" ? var.upload_api_reserved_concurrency : null
  kms_key_arn          = var.kms_key_arn
  # Logs describe image-derived data, which is never kept longer than retention_days (at most 7).
  log_retention_days    = var.retention_days
  environment_variables = each.value.environment
  policy_statements     = local.function_statements[each.key]
  # imgpipe:function names the lambdas/ folder of the function's source: the local runtime
  # (scripts/local_gateway.py) finds the code through it.
  function_tags = { "imgpipe:function" = each.key }
  tags          = var.tags
}

################################################################################
# REST API
################################################################################

resource "aws_api_gateway_rest_api" "this" {
  name        = local.api_name
  description = "${var.name_prefix}: authenticated image ingestion API"
  # Direct uploads send image bytes: API Gateway hands bodies of these types to the proxy integration base64-encoded.
  # null (only with set_binary_media_types = false, for moto) leaves the attribute unmanaged.
  binary_media_types = var.set_binary_media_types ? local.binary_media_types : null
  # With a custom domain (TLS 1.2 policy), the default execute-api endpoint is closed: clients cannot go around it.
  disable_execute_api_endpoint = var.custom_domain != null

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = merge(var.tags, { Name = local.api_name })

  # Should the API ever be replaced, the new one is built (and deployed) before the old one goes away.
  lifecycle {
    create_before_destroy = true
  }
}

# Requests missing a declared required parameter are refused by API Gateway (400, DEFAULT_4XX) before the
# function runs. Bodies are validated by upload_api against docs/api/openapi.yaml, which answers 415/422 with
# codes API Gateway could not produce.
resource "aws_api_gateway_request_validator" "parameters" {
  name                        = "${local.api_name}-parameters"
  rest_api_id                 = aws_api_gateway_rest_api.this.id
  validate_request_parameters = local.request_validation.parameters
  validate_request_body       = local.request_validation.body
}

resource "aws_api_gateway_resource" "v1" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_rest_api.this.root_resource_id
  path_part   = "v1"
}

resource "aws_api_gateway_resource" "uploads" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = "uploads"
}

resource "aws_api_gateway_resource" "images" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.v1.id
  path_part   = "images"
}

resource "aws_api_gateway_resource" "image" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  parent_id   = aws_api_gateway_resource.images.id
  path_part   = "{image_id}"
}

resource "aws_api_gateway_authorizer" "api_key" {
  name                             = "${local.api_name}-key"
  rest_api_id                      = aws_api_gateway_rest_api.this.id
  type                             = local.authorizer.type
  authorizer_uri                   = module.function["api_authorizer"].alias_invoke_arn
  identity_source                  = local.authorizer.identity_source
  authorizer_result_ttl_in_seconds = local.authorizer.ttl_seconds
}

resource "aws_api_gateway_method" "this" {
  for_each = local.routes

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = local.resource_ids[each.value.resource]
  http_method          = each.value.method
  authorization        = local.authorizer.method_auth
  authorizer_id        = aws_api_gateway_authorizer.api_key.id
  request_validator_id = aws_api_gateway_request_validator.parameters.id
  request_parameters   = { for p in each.value.path_params : "method.request.path.${p}" => true }
}

resource "aws_api_gateway_integration" "this" {
  for_each = local.routes

  rest_api_id             = aws_api_gateway_rest_api.this.id
  resource_id             = aws_api_gateway_method.this[each.key].resource_id
  http_method             = aws_api_gateway_method.this[each.key].http_method
  type                    = local.integration.type
  integration_http_method = local.integration.http_method
  uri                     = module.function["upload_api"].alias_invoke_arn
  timeout_milliseconds    = local.integration.timeout_milliseconds
}

resource "aws_api_gateway_gateway_response" "this" {
  for_each = local.gateway_responses

  rest_api_id   = aws_api_gateway_rest_api.this.id
  response_type = each.key
  status_code   = each.value.status_code

  response_templates = {
    "application/json" = local.gateway_response_templates[each.key]
  }
}

# CORS preflight (only with cors_allowed_origins): OPTIONS answered by API Gateway itself (MOCK), no backend,
# no authorizer (browsers send preflights without credentials).
resource "aws_api_gateway_method" "cors" {
  for_each = local.cors_resources

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = each.value.resource_id
  http_method          = "OPTIONS"
  authorization        = "NONE"
  request_validator_id = aws_api_gateway_request_validator.parameters.id
}

resource "aws_api_gateway_integration" "cors" {
  for_each = local.cors_resources

  rest_api_id          = aws_api_gateway_rest_api.this.id
  resource_id          = aws_api_gateway_method.cors[each.key].resource_id
  http_method          = aws_api_gateway_method.cors[each.key].http_method
  type                 = "MOCK"
  passthrough_behavior = "WHEN_NO_MATCH"
  request_templates    = { "application/json" = "{\"statusCode\": 204}" }
}

resource "aws_api_gateway_method_response" "cors" {
  for_each = local.cors_resources

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.cors[each.key].resource_id
  http_method = aws_api_gateway_method.cors[each.key].http_method
  status_code = "204"

  response_parameters = {
    "method.response.header.Access-Control-Allow-Origin"  = false
    "method.response.header.Access-Control-Allow-Methods" = true
    "method.response.header.Access-Control-Allow-Headers" = true
    "method.response.header.Access-Control-Max-Age"       = true
    "method.response.header.Vary"                         = true
  }
}

resource "aws_api_gateway_integration_response" "cors" {
  for_each = local.cors_resources

  rest_api_id = aws_api_gateway_rest_api.this.id
  resource_id = aws_api_gateway_method.cors[each.key].resource_id
  http_method = aws_api_gateway_method.cors[each.key].http_method
  status_code = aws_api_gateway_method_response.cors[each.key].status_code

  response_parameters = merge(local.cors_static_headers, {
    "method.response.header.Access-Control-Allow-Methods" = "'${each.value.methods}'"
  })
  response_templates = { "application/json" = local.cors_response_template }

  depends_on = [aws_api_gateway_integration.cors]
}

# A new deployment whenever anything that a deployment snapshots changes (routes, auth, integrations, error
# responses, CORS, binary media types); the new one is created before the old one is removed.
resource "aws_api_gateway_deployment" "this" {
  rest_api_id = aws_api_gateway_rest_api.this.id
  description = "${local.api_name}: ingestion API"

  triggers = {
    redeployment = sha1(jsonencode(local.deployment_fingerprint))
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_api_gateway_stage" "this" {
  #checkov:skip=CKV_AWS_120:Responses are per-caller and short-lived (presigned URLs, upload ids); caching them would serve one key's answer to another and stale links.
  #checkov:skip=CKV2_AWS_77:Log4j protection is the KnownBadInputs rule set (with waf_enabled); the check also demands AnonymousIpList, whose hosting-provider list would block the server-to-server clients this API serves.
  #checkov:skip=CKV2_AWS_51:Client certificates authenticate API Gateway to HTTP backends; the only backend here is Lambda (AWS_PROXY), invoked through IAM.
  rest_api_id          = aws_api_gateway_rest_api.this.id
  deployment_id        = aws_api_gateway_deployment.this.id
  stage_name           = var.stage_name
  description          = "${local.api_name}: ${var.stage_name}"
  xray_tracing_enabled = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.this["access"].arn
    format          = jsonencode(local.access_log_format)
  }

  tags = merge(var.tags, { Name = "${local.api_name}-${var.stage_name}" })

  # API Gateway refuses logging settings while the account has no CloudWatch role; our log groups must exist
  # (encrypted, with retention) before API Gateway could create them.
  depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.this]
}

resource "aws_api_gateway_method_settings" "all" {
  #checkov:skip=CKV_AWS_225:Responses are per-caller and short-lived (presigned URLs, upload ids); a cache would serve one key's answer to another and stale links.
  rest_api_id = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  method_path = "*/*"

  settings {
    metrics_enabled        = true
    logging_level          = "INFO"
    data_trace_enabled     = false # never log request or response bodies (images, presigned URLs)
    throttling_rate_limit  = var.throttling_rate_limit
    throttling_burst_limit = var.throttling_burst_limit
    caching_enabled        = false
    cache_data_encrypted   = true
  }
}

resource "aws_lambda_permission" "upload_api" {
  statement_id  = "AllowInvokeFromIngestApi"
  action        = "lambda:InvokeFunction"
  function_name = module.function["upload_api"].function_name
  qualifier     = module.function["upload_api"].alias_name
  principal     = "apigateway.${local.dns_suffix}"
  # <execution arn>/<stage>/<method>/<path>: only this API's stage, only below /v1.
  source_arn = "${aws_api_gateway_rest_api.this.execution_arn}/${var.stage_name}/*/v1/*"
}

resource "aws_lambda_permission" "api_authorizer" {
  statement_id  = "AllowInvokeFromIngestApiAuthorizer"
  action        = "lambda:InvokeFunction"
  function_name = module.function["api_authorizer"].function_name
  qualifier     = module.function["api_authorizer"].alias_name
  principal     = "apigateway.${local.dns_suffix}"
  source_arn    = "${aws_api_gateway_rest_api.this.execution_arn}/authorizers/${aws_api_gateway_authorizer.api_key.id}"
}

################################################################################
# Account-level CloudWatch role for API Gateway (opt-in: it is shared by every REST API of the account/region)
################################################################################

resource "aws_iam_role" "apigateway_cloudwatch" {
  count = var.manage_apigateway_account_logging_role ? 1 : 0

  name        = "${var.name_prefix}-apigateway-cloudwatch"
  description = "API Gateway account setting: writes execution and access logs of every REST API in ${local.region}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { Name = "${var.name_prefix}-apigateway-cloudwatch" })
}

# The AWS managed policy: the role serves every API of the account, so it cannot be limited to this module's
# log groups.
resource "aws_iam_role_policy_attachment" "apigateway_cloudwatch" {
  count = var.manage_apigateway_account_logging_role ? 1 : 0

  role       = aws_iam_role.apigateway_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_apigateway_account_logging_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigateway_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.apigateway_cloudwatch]
}

################################################################################
# WAF (regional web ACL on the stage)
################################################################################

resource "aws_wafv2_web_acl" "this" {
  count = var.waf_enabled ? 1 : 0

  name        = local.api_name
  description = "${local.api_name}: managed common and known-bad-input rules, per-IP rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  custom_response_body {
    key          = "throttled"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ error = { code = "throttled", message = "too many requests from this address, retry later", request_id = "" } })
  }

  custom_response_body {
    key          = "too_large"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ error = { code = "too_large", message = "request body too large for this route", request_id = "" } })
  }

  # First, so a flood is cut before the managed rules spend capacity on it.
  rule {
    name     = "rate-limit-per-ip"
    priority = 0

    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = "throttled"
        }
      }
    }

    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit_per_5min
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common-rule-set"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"

        # SizeRestrictions_BODY blocks every body over 8 KB, i.e. every image sent to PUT /v1/images (direct
        # uploads of up to 4 MiB). Overridden to COUNT: it only labels the request, and the rule below re-blocks
        # labelled requests on every other route. Image size itself is enforced by upload_api (4 MiB direct,
        # max_upload_bytes through presigned POSTs, which go to S3 and never pass this ACL) and by API Gateway's
        # 10 MB payload limit.
        rule_action_override {
          name = "SizeRestrictions_BODY"

          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-aws-common-rule-set"
      sampled_requests_enabled   = true
    }
  }

  # Restores SizeRestrictions_BODY everywhere except direct uploads (PUT .../v1/images): JSON bodies of
  # POST /v1/uploads are a few KB at most, so a large body there is an attack, not an image.
  rule {
    name     = "block-large-bodies-except-direct-upload"
    priority = 15

    action {
      block {
        custom_response {
          response_code            = 413
          custom_response_body_key = "too_large"
        }
      }
    }

    statement {
      and_statement {
        statement {
          label_match_statement {
            scope = "LABEL"
            key   = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
          }
        }

        statement {
          not_statement {
            statement {
              and_statement {
                statement {
                  byte_match_statement {
                    search_string         = "/v1/images"
                    positional_constraint = "ENDS_WITH"

                    field_to_match {
                      uri_path {}
                    }

                    text_transformation {
                      priority = 0
                      type     = "NONE"
                    }
                  }
                }

                statement {
                  byte_match_statement {
                    search_string         = "PUT"
                    positional_constraint = "EXACTLY"

                    field_to_match {
                      method {}
                    }

                    text_transformation {
                      priority = 0
                      type     = "NONE"
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-block-large-bodies-except-direct-upload"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.api_name
    sampled_requests_enabled   = true
  }

  tags = merge(var.tags, { Name = local.api_name })
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.waf_enabled ? 1 : 0

  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this[0].arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  count = var.waf_enabled ? 1 : 0

  resource_arn            = aws_wafv2_web_acl.this[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.this["waf"].arn]

  # WAF logs carry request headers: the API key must never reach them, in either header it may travel in.
  redacted_fields {
    single_header {
      name = "x-api-key"
    }
  }

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}

################################################################################
# Custom domain (optional): TLS 1.2 minimum, the only way in when set
################################################################################

resource "aws_api_gateway_domain_name" "this" {
  count = var.custom_domain == null ? 0 : 1

  domain_name              = var.custom_domain.domain_name
  regional_certificate_arn = var.custom_domain.certificate_arn
  security_policy          = "TLS_1_2"

  endpoint_configuration {
    types = ["REGIONAL"]
  }

  tags = var.tags
}

resource "aws_api_gateway_base_path_mapping" "this" {
  count = var.custom_domain == null ? 0 : 1

  api_id      = aws_api_gateway_rest_api.this.id
  stage_name  = aws_api_gateway_stage.this.stage_name
  domain_name = aws_api_gateway_domain_name.this[0].domain_name
}
