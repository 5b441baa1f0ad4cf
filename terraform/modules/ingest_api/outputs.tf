output "rest_api_id" {
  description = "ID of the REST API."
  value       = aws_api_gateway_rest_api.this.id
}

output "rest_api_name" {
  description = "Name of the REST API (<name_prefix>-api)."
  value       = aws_api_gateway_rest_api.this.name
}

output "stage_name" {
  description = "Name of the deployed stage."
  value       = aws_api_gateway_stage.this.stage_name
}

output "invoke_url" {
  description = "Base URL of the stage (https://<api id>.execute-api.<region>.amazonaws.com/<stage>); routes live below /v1."
  value       = aws_api_gateway_stage.this.invoke_url
}

output "execution_arn" {
  description = "Execution ARN of the REST API (prefix of the ARNs API Gateway invokes functions with)."
  value       = aws_api_gateway_rest_api.this.execution_arn
}

output "function_names" {
  description = "Lambda function names by lambdas/ folder name (upload_api, api_authorizer)."
  value       = { for k, f in module.function : k => f.function_name }
}

output "function_arns" {
  description = "Lambda function ARNs by lambdas/ folder name (upload_api, api_authorizer)."
  value       = { for k, f in module.function : k => f.function_arn }
}

output "function_role_arns" {
  description = "Execution role ARNs by lambdas/ folder name (upload_api, api_authorizer)."
  value       = { for k, f in module.function : k => f.role_arn }
}

output "api_keys_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the API-key registry (hashes only)."
  value       = aws_secretsmanager_secret.api_keys.arn
}

output "api_keys_secret_name" {
  description = "Name of the API-key registry secret (<name_prefix>/api-keys)."
  value       = aws_secretsmanager_secret.api_keys.name
}

output "binary_media_types" {
  description = "Content types the API treats as binary (passed to upload_api base64-encoded): the API's contract, also read by the local gateway, which emulates API Gateway where the emulator cannot hold them (set_binary_media_types = false)."
  value       = local.binary_media_types
}

output "log_group_names" {
  description = "Log groups of the module: upload_api, api_authorizer (functions), access (stage access log), execution (API Gateway execution log) and, with WAF, waf."
  value       = merge({ for k, f in module.function : k => f.log_group_name }, { for k, g in aws_cloudwatch_log_group.this : k => g.name })
}

output "log_retention_days" {
  description = "Retention of every log group: the largest CloudWatch value <= retention_days."
  value       = local.log_retention_days
}

output "waf_web_acl_arn" {
  description = "ARN of the WAF web ACL protecting the stage; null when waf_enabled = false."
  value       = one(aws_wafv2_web_acl.this[*].arn)
}

output "idempotency_table_name" {
  description = "DynamoDB table of the upload API's idempotency records (TTL attribute: expiration)."
  value       = aws_dynamodb_table.idempotency.name
}

output "idempotency_table_arn" {
  description = "ARN of the idempotency table."
  value       = aws_dynamodb_table.idempotency.arn
}

output "idempotency_table_kms_key_arn" {
  description = "KMS key encrypting the idempotency table."
  value       = one(aws_dynamodb_table.idempotency.server_side_encryption).kms_key_arn
}

output "function_timeouts" {
  description = "Each function's timeout in seconds (the observability module alarms on a p99 duration near it)."
  value       = { for k, f in module.function : k => f.timeout }
}

output "custom_domain_target" {
  description = "With custom_domain: the regional domain name and hosted zone id to alias the DNS record to; else null."
  value = try({
    domain_name    = aws_api_gateway_domain_name.this[0].regional_domain_name
    hosted_zone_id = aws_api_gateway_domain_name.this[0].regional_zone_id
  }, null)
}

output "web_users" {
  description = "The Cognito pool whose access tokens api_authorizer accepts (issuer, client_ids, jwks_url), or null: API keys only."
  value       = var.web_users
}

output "api_keys_table_name" {
  description = "DynamoDB table of the API keys' records (peppered digests only), written by scripts/ops/keys.py."
  value       = aws_dynamodb_table.api_keys.name
}

output "api_keys_cache_seconds" {
  description = "How long api_authorizer caches a key's record: the longest a revoked key keeps working."
  value       = var.api_keys_cache_seconds
}

output "api_keys_table_arn" {
  description = "ARN of the API-key table."
  value       = aws_dynamodb_table.api_keys.arn
}

output "api_key_pepper_secret_name" {
  description = "Secrets Manager secret holding the pepper of the key digests (written once by scripts/ops/keys.py)."
  value       = aws_secretsmanager_secret.api_key_pepper.name
}

output "cors_allowed_origins" {
  description = "Browser origins the API answers CORS for ([]: none)."
  value       = var.cors_allowed_origins
}

output "origin" {
  description = "The API's origin as a browser sees it (https://host): the custom domain, else the execute-api endpoint. Made from the REST API alone, so that a web app's content security policy can name it before the stage (which may depend on the app's own origin, for CORS) exists."
  value       = var.custom_domain != null ? "https://${var.custom_domain.domain_name}" : "https://${aws_api_gateway_rest_api.this.id}.execute-api.${data.aws_region.current.name}.amazonaws.com"
}

output "base_url" {
  description = "The URL clients append /v1/... to: the custom domain's root, else the stage's invoke URL."
  value       = var.custom_domain != null ? "https://${var.custom_domain.domain_name}" : aws_api_gateway_stage.this.invoke_url
}
