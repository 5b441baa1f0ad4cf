output "table_name" {
  description = "Name of the image metadata table."
  value       = aws_dynamodb_table.images.name
}

output "table_arn" {
  description = "ARN of the image metadata table."
  value       = aws_dynamodb_table.images.arn
}

output "stream_arn" {
  description = "ARN of the table's stream (NEW_AND_OLD_IMAGES), consumed by the metadata export function."
  value       = aws_dynamodb_table.images.stream_arn
}

output "gsi_by_tenant_status_name" {
  description = "Name of the GSI keyed by \"<tenant_id>#<status>\" (range key created_at): one tenant's listing."
  value       = local.gsi_by_tenant_status
}

output "gsi_by_day_name" {
  description = "Name of the GSI keyed by created_day (range key created_at)."
  value       = local.gsi_by_day
}

output "ttl_attribute" {
  description = "Name of the TTL attribute (epoch seconds) items must carry."
  value       = "expires_at"
}

output "deletion_protection_enabled" {
  description = "Whether the table is protected against deletion."
  value       = aws_dynamodb_table.images.deletion_protection_enabled
}

output "pitr_recovery_period_in_days" {
  description = "Point-in-time-recovery window in days (equals retention_days)."
  value       = one(aws_dynamodb_table.images.point_in_time_recovery[*].recovery_period_in_days)
}

output "kms_key_arn" {
  description = "KMS key the table is encrypted with, as planned."
  value       = one(aws_dynamodb_table.images.server_side_encryption[*].kms_key_arn)
}
