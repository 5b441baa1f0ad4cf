################################################################################
# Authorizer: every route's REQUEST authorizer (API keys, Cognito access tokens)
################################################################################

locals {
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
}

resource "aws_api_gateway_authorizer" "api_key" {
  name                             = "${local.api_name}-key"
  rest_api_id                      = aws_api_gateway_rest_api.this.id
  type                             = local.authorizer.type
  authorizer_uri                   = module.function["api_authorizer"].alias_invoke_arn
  identity_source                  = local.authorizer.identity_source
  authorizer_result_ttl_in_seconds = local.authorizer.ttl_seconds
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
  description             = "${var.name_prefix}: pepper of the API-key digests in ${var.name_prefix}-api-keys (written once by scripts/ops/keys.py)"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.api_keys_secret_recovery_window_days

  tags = merge(var.tags, { Name = "${var.name_prefix}/api-key-pepper" })
}

# The registry of earlier releases (one JSON document of unpeppered hashes). Nothing reads it any more but
# `python -m scripts.ops.keys migrate`, which moves its keys into the table; it goes in the next release.
resource "aws_secretsmanager_secret" "api_keys" {
  #checkov:skip=CKV2_AWS_57:The secret is a registry of SHA-256 key hashes, not a credential; keys are issued and revoked by editing the registry, so automatic rotation has nothing to rotate.
  name                    = "${var.name_prefix}/api-keys"
  description             = "${var.name_prefix}: legacy API-key registry, read only by scripts/ops/keys.py migrate"
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
