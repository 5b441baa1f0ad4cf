# Output names are a contract: scripts and tests read them with `terraform output -json`.

output "region" {
  description = "AWS region of the stack."
  value       = var.region
}

output "name_prefix" {
  description = "Prefix of every resource name (<project>-<environment>)."
  value       = local.name_prefix
}

output "retention_days" {
  description = "Days image-derived data is kept."
  value       = var.retention_days
}

output "lambda_architecture" {
  description = "Instruction set for the Lambda functions (arm64 or x86_64)."
  value       = var.lambda_architecture
}

output "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key."
  value       = module.kms.key_arn
}

output "kms_alias_name" {
  description = "Alias of the environment's KMS key."
  value       = module.kms.alias_name
}

output "raw_bucket_name" {
  description = "Raw image bucket."
  value       = module.storage.raw_bucket_name
}

output "processed_bucket_name" {
  description = "Processed (renditions) bucket."
  value       = module.storage.processed_bucket_name
}

output "raw_prefix" {
  description = "Key prefix in the raw bucket that triggers processing."
  value       = module.storage.raw_prefix
}

output "raw_events_queue_url" {
  description = "URL of the raw-events queue (S3 ObjectCreated notifications)."
  value       = module.storage.raw_events_queue_url
}

output "raw_events_queue_arn" {
  description = "ARN of the raw-events queue."
  value       = module.storage.raw_events_queue_arn
}

output "raw_events_dlq_url" {
  description = "URL of the raw-events dead-letter queue."
  value       = module.storage.raw_events_dlq_url
}

output "metadata_table_name" {
  description = "Name of the image metadata table."
  value       = module.metadata.table_name
}

output "metadata_table_stream_arn" {
  description = "Stream ARN of the image metadata table."
  value       = module.metadata.stream_arn
}
