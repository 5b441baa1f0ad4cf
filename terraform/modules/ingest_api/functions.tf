locals {
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
  # (scripts/local/gateway.py) finds the code through it.
  function_tags = { "imgpipe:function" = each.key }
  tags          = var.tags
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
