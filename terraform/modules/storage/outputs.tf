output "raw_bucket_name" {
  description = "Name of the raw image bucket."
  value       = aws_s3_bucket.this["raw"].bucket
}

output "raw_bucket_arn" {
  description = "ARN of the raw image bucket."
  value       = aws_s3_bucket.this["raw"].arn
}

output "processed_bucket_name" {
  description = "Name of the processed (renditions) bucket."
  value       = aws_s3_bucket.this["processed"].bucket
}

output "processed_bucket_arn" {
  description = "ARN of the processed (renditions) bucket."
  value       = aws_s3_bucket.this["processed"].arn
}

output "raw_prefix" {
  description = "Key prefix in the raw bucket that triggers raw-events notifications."
  value       = var.raw_prefix
}

output "raw_events_queue_url" {
  description = "URL of the raw-events queue (S3 ObjectCreated notifications)."
  value       = module.raw_events.url
}

output "raw_events_queue_arn" {
  description = "ARN of the raw-events queue."
  value       = module.raw_events.arn
}

output "raw_events_queue_name" {
  description = "Name of the raw-events queue."
  value       = module.raw_events.name
}

output "raw_events_visibility_timeout_seconds" {
  description = "Visibility timeout of the raw-events queue (the processing module checks it against its timeout)."
  value       = module.raw_events.visibility_timeout_seconds
}

output "raw_events_dlq_url" {
  description = "URL of the raw-events dead-letter queue."
  value       = module.raw_events.dlq_url
}

output "raw_events_dlq_arn" {
  description = "ARN of the raw-events dead-letter queue."
  value       = module.raw_events.dlq_arn
}

output "raw_events_dlq_name" {
  description = "Name of the raw-events dead-letter queue."
  value       = module.raw_events.dlq_name
}

output "bucket_policies_enforced" {
  description = "Whether the TLS/encryption-enforcing bucket policies are attached, per bucket (raw, processed)."
  value       = { for k in keys(aws_s3_bucket.this) : k => contains(keys(aws_s3_bucket_policy.this), k) }
}

output "object_expiration_days" {
  description = "Days after which current objects expire, per bucket (raw, processed)."
  value = {
    for k, lc in aws_s3_bucket_lifecycle_configuration.this :
    k => one([for r in lc.rule : r.expiration[0].days if r.id == "expire-after-retention"])
  }
}

output "message_retention_seconds" {
  description = "Message retention of the raw-events queue and its DLQ."
  value = {
    raw_events = module.raw_events.queue.message_retention_seconds
    dlq        = module.raw_events.dlq.message_retention_seconds
  }
}

output "force_destroy" {
  description = "Whether terraform destroy may delete non-empty buckets."
  value       = var.force_destroy
}

output "dlq_redrive_allow_policy_enabled" {
  description = "Whether the DLQ carries a redrive-allow policy (only the raw-events queue may use it)."
  value       = module.raw_events.dlq_redrive_allow_policy_enabled
}

output "kms_key_arns" {
  description = "KMS key each store is encrypted with, as planned: raw and processed bucket defaults, raw_events and dlq queues."
  value = merge(
    {
      for k, c in aws_s3_bucket_server_side_encryption_configuration.this :
      k => one([for r in c.rule : r.apply_server_side_encryption_by_default[0].kms_master_key_id])
    },
    {
      raw_events = module.raw_events.queue.kms_master_key_id
      dlq        = module.raw_events.dlq.kms_master_key_id
    },
  )
}

output "bucket_names" {
  description = "Every bucket of the module by key (raw, processed, and each of extra_buckets)."
  value       = { for k, b in aws_s3_bucket.this : k => b.bucket }
}

output "bucket_arns" {
  description = "ARN of every bucket of the module by key."
  value       = local.bucket_arns
}

output "bucket_policies" {
  description = "Each bucket's policy document (JSON) by bucket name, attached or not (enforce_bucket_policy): what scripts/ops/authz evaluates where an emulator cannot hold the policy."
  value       = { for k, name in local.buckets : name => jsonencode(local.bucket_policies[k]) }
}

output "raw_bucket_cors_origins" {
  description = "Origins that may POST presigned upload forms to the raw bucket ([]: no CORS configuration)."
  value       = sort(flatten([for c in aws_s3_bucket_cors_configuration.raw : [for r in c.cors_rule : r.allowed_origins]]))
}
