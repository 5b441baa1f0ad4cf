# Output names are a contract: each env exports this module as its single output `pipeline`, which scripts and
# tests read with `terraform output -json pipeline`. Add outputs freely; never rename or remove one.

################################################################################
# What the environment deployed
################################################################################

output "region" {
  description = "AWS region of the stack."
  value       = data.aws_region.current.name
}

output "name_prefix" {
  description = "Prefix of every resource name (<project>-<environment>)."
  value       = var.name_prefix
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

output "cursor_key_arn" {
  description = "ARN of the KMS HMAC key the API signs its pagination cursors with."
  value       = module.kms.mac_key_arn
}

output "kms_alias_name" {
  description = "Alias of the environment's KMS key (alias/<name_prefix>)."
  value       = module.kms.alias_name
}

output "raw_bucket_name" {
  description = "Raw image bucket."
  value       = module.storage.raw_bucket_name
}

output "raw_bucket_arn" {
  description = "ARN of the raw image bucket."
  value       = module.storage.raw_bucket_arn
}

output "processed_bucket_name" {
  description = "Processed (renditions) bucket."
  value       = module.storage.processed_bucket_name
}

output "processed_bucket_arn" {
  description = "ARN of the processed (renditions) bucket."
  value       = module.storage.processed_bucket_arn
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

output "raw_events_dlq_arn" {
  description = "ARN of the raw-events dead-letter queue."
  value       = module.storage.raw_events_dlq_arn
}

output "metadata_table_name" {
  description = "Name of the image metadata table."
  value       = module.metadata.table_name
}

output "metadata_table_arn" {
  description = "ARN of the image metadata table."
  value       = module.metadata.table_arn
}

output "metadata_table_stream_arn" {
  description = "Stream ARN of the image metadata table."
  value       = module.metadata.stream_arn
}

################################################################################
# Settings as planned (asserted by the env tests; read them, don't configure from them)
################################################################################

output "kms_deletion_window_in_days" {
  description = "Waiting period before the key, once scheduled for deletion, is destroyed."
  value       = module.kms.deletion_window_in_days
}

output "kms_key_rotation_enabled" {
  description = "Whether automatic key rotation is enabled (always true)."
  value       = module.kms.key_rotation_enabled
}

output "encryption_kms_key_arns" {
  description = "KMS key of every store: raw, processed (bucket defaults), raw_events, dlq (queues), metadata_table, api_idempotency_table."
  value = merge(module.storage.kms_key_arns, {
    metadata_table        = module.metadata.kms_key_arn
    api_idempotency_table = module.ingest_api.idempotency_table_kms_key_arn
  })
}

output "bucket_policies_enforced" {
  description = "Whether the TLS/encryption-enforcing bucket policies are attached, per bucket (raw, processed)."
  value       = module.storage.bucket_policies_enforced
}

output "force_destroy" {
  description = "Whether terraform destroy may delete non-empty buckets."
  value       = module.storage.force_destroy
}

output "dlq_redrive_allow_policy_enabled" {
  description = "Whether only the raw-events queue may use the DLQ (redrive-allow policy attached)."
  value       = module.storage.dlq_redrive_allow_policy_enabled
}

output "deletion_protection_enabled" {
  description = "Whether the metadata table is protected against deletion."
  value       = module.metadata.deletion_protection_enabled
}

output "object_expiration_days" {
  description = "Days after which current objects expire, per bucket (raw, processed)."
  value       = module.storage.object_expiration_days
}

output "message_retention_seconds" {
  description = "Message retention of the raw-events queue and its DLQ."
  value       = module.storage.message_retention_seconds
}

output "pitr_recovery_period_in_days" {
  description = "Point-in-time-recovery window of the metadata table in days."
  value       = module.metadata.pitr_recovery_period_in_days
}

# ----------------------------------------------------------------------------------------- HTTP ingestion API

output "rest_api_id" {
  description = "ID of the ingestion REST API (the local gateway reads its routes back from the emulator by it)."
  value       = module.ingest_api.rest_api_id
}

output "api_stage_name" {
  description = "Stage of the ingestion API."
  value       = module.ingest_api.stage_name
}

output "api_invoke_url" {
  description = "Base URL of the ingestion API (append /v1/...)."
  value       = module.ingest_api.invoke_url
}

output "api_binary_media_types" {
  description = "Media types API Gateway passes to the functions base64-encoded."
  value       = module.ingest_api.binary_media_types
}

output "api_keys_table_name" {
  description = "DynamoDB table of the API keys (peppered digests), for scripts/ops/keys.py."
  value       = module.ingest_api.api_keys_table_name
}

output "api_keys_cache_seconds" {
  description = "How long api_authorizer caches a key's record: the longest a revoked key keeps working."
  value       = module.ingest_api.api_keys_cache_seconds
}

output "api_key_pepper_secret_name" {
  description = "Secret holding the pepper of the API-key digests, for scripts/ops/keys.py."
  value       = module.ingest_api.api_key_pepper_secret_name
}

output "api_keys_secret_name" {
  description = "The legacy API-key registry secret (unpeppered hashes), read only by `python -m scripts.ops.keys migrate`."
  value       = module.ingest_api.api_keys_secret_name
}

output "api_idempotency_table_name" {
  description = "DynamoDB table of the upload API's idempotency records."
  value       = module.ingest_api.idempotency_table_name
}

output "api_function_names" {
  description = "Lambda function names of the API, keyed by lambdas/ folder."
  value       = module.ingest_api.function_names
}

output "web_users" {
  description = "The Cognito user pool of web users and the SPA's client (issuer, client_ids, jwks_url as the API verifies them), or null when web users are off."
  value = var.web_users.enabled ? {
    user_pool_id  = module.identity[0].user_pool_id
    user_pool_arn = module.identity[0].user_pool_arn
    web_client_id = module.identity[0].web_client_id
    jwt           = module.identity[0].jwt
    # What the authorizer was actually given: the tests compare it with the pool's.
    accepted_by_api       = module.ingest_api.web_users
    password_auth_allowed = module.identity[0].password_auth_allowed
    deletion_protection   = module.identity[0].deletion_protection
  } : null
}

output "web_app" {
  description = "The web app on CloudFront (url, distribution, bucket, its CSP and config.json), or null when web_app is off."
  value = var.web_app.enabled ? {
    url                     = module.web[0].url
    distribution_id         = module.web[0].distribution_id
    bucket_name             = module.web[0].bucket_name
    content_security_policy = module.web[0].content_security_policy
    config                  = module.web[0].config
  } : null
}

output "web_app_url" {
  description = "Where people open the web app: the CloudFront URL (null without web_app; locally the gateway's URL serves it)."
  value       = var.web_app.enabled ? module.web[0].url : null
}

output "waf_enabled" {
  description = "Whether the API stage is protected by the WAF web ACL."
  value       = var.waf_enabled
}

################################################################################
# Processing
################################################################################

output "processor_function_name" {
  description = "Name of the image_processor function."
  value       = module.processing.function_name
}

output "processed_prefix" {
  description = "Key prefix of renditions in the processed bucket."
  value       = module.processing.processed_prefix
}

output "processor_event_source" {
  description = "The processor's SQS event source mapping: queue, batch size, window, partial failures, enabled."
  value       = module.processing.event_source
}

output "raw_events_visibility_timeout_seconds" {
  description = "Visibility timeout of the raw-events queue (6 x the processor's timeout)."
  value       = module.storage.raw_events_visibility_timeout_seconds
}

output "processing" {
  description = "How images are processed: the mode, the split thresholds, and the container workers (cluster, service, queue, task definition, image, task role, scaling target, log group) or null in lambda mode."
  value = {
    mode                   = var.processing_mode
    large_image_min_bytes  = var.processing_mode == "split" ? var.large_image_min_bytes : null
    large_image_min_pixels = var.processing_mode == "split" ? var.large_image_min_pixels : null
    workers = var.processing_mode == "lambda" ? null : {
      cluster_name            = module.workers[0].cluster_name
      service_name            = module.workers[0].service_name
      queue_url               = module.workers[0].queue_url
      task_definition_arn     = module.workers[0].task_definition.arn
      image                   = local.workers_image
      task_role_arn           = module.workers[0].task_role_arn
      target_backlog_per_task = module.workers[0].target_backlog_per_task
      min_tasks               = var.workers.min_tasks
      max_tasks               = var.workers.max_tasks
      poll_wait_seconds       = var.workers.poll_wait_seconds
      log_group_name          = module.workers[0].log_group_name
    }
  }
}

output "processing_alarm_names" {
  description = "Alarms of the processing path (DLQ not empty, backlog age, function errors)."
  value       = module.processing.alarm_names
}

################################################################################
# Kafka ingestion (null when var.kafka is null)
################################################################################

output "kafka_event_source" {
  description = "What kafka_ingest consumes (topic, group, batching, function, on-failure queue), or null without Kafka ingestion."
  value       = try(module.ingest_kafka[0].event_source, null)
}

output "kafka_claim_check_producer_policies" {
  description = "Per Kafka source-id: the IAM policy its producers attach to stage claim-check objects in their own folder only (modules/ingest_kafka), or {} without Kafka ingestion."
  value       = try(module.ingest_kafka[0].claim_check_producer_policies, {})
}

output "kafka_rejects_queue_url" {
  description = "Queue of rejected / given-up Kafka records (reason and coordinates), or null."
  value       = try(module.ingest_kafka[0].rejects_queue_url, null)
}

# Retention audit

output "retention_audit" {
  description = "The retention audit: function, schedule rule and expression, audited buckets, alarms, and whether it trusts the event's clock."
  value = {
    function_name       = module.retention.function_name
    schedule_rule_name  = module.retention.schedule_rule_name
    schedule_expression = module.retention.schedule_expression
    audited_buckets     = module.retention.audited_buckets
    alarm_names         = module.retention.alarm_names
    trust_event_time    = var.retention_trust_event_time
  }
}

# Analytics

output "analytics" {
  description = "The metadata export and BI: analytics bucket and export prefix, Glue database/table, Athena workgroup and reports, the export function and its stream mapping state."
  value = {
    bucket_name           = module.storage.bucket_names["analytics"]
    results_bucket_name   = module.storage.bucket_names["athena-results"]
    export_prefix         = module.analytics.export_prefix
    function_name         = module.analytics.function_name
    glue_database_name    = module.analytics.glue_database_name
    glue_table_name       = module.analytics.glue_table_name
    athena_workgroup_name = module.analytics.athena_workgroup_name
    named_queries         = module.analytics.named_queries
    event_source          = module.analytics.event_source
  }
}

output "security" {
  description = "Account security services: the trail and its bucket, the GuardDuty detector and malware protection plan, what the processor does with scan tags, the Access Analyzer."
  value = {
    trail_arn                   = module.security.trail_arn
    trail_bucket_name           = try(module.storage.bucket_names["trail"], null)
    guardduty_detector_id       = module.security.guardduty_detector_id
    malware_protection_plan_arn = module.security.malware_protection_plan_arn
    malware_scan                = module.security.malware_scan
    access_analyzer_arn         = module.security.access_analyzer_arn
  }
}

output "observability" {
  description = "The alarm topic, each function's alarms, every alarm name, the dashboard, and the queues it draws."
  value = {
    alarm_topic_arn = module.observability.alarm_topic_arn
    function_alarms = module.observability.function_alarms
    alarm_names     = module.observability.alarm_names
    dashboard_name  = module.observability.dashboard_name
    # Every queue with the alarm that watches its depth or age (their modules own them).
    queue_alarms = local.queue_alarms
  }
}

output "api_custom_domain_target" {
  description = "With api_custom_domain: the regional name and zone id to alias its DNS record to; else null."
  value       = module.ingest_api.custom_domain_target
}

output "authorization" {
  description = "Every bucket's policy document, attached or not (envs/local declares but does not attach them): what `python -m scripts.ops.authz` evaluates where the emulator cannot hold a policy."
  value = {
    bucket_policies = module.storage.bucket_policies
  }
}

output "perimeter" {
  description = "Who besides the pipeline's own roles reaches its data, and the opt-in features the authorization matrix depends on. Known at plan time (the envs export it as an output of its own, so a saved plan shows it even when other outputs wait for apply)."
  value = {
    break_glass_role_arn = var.perimeter.break_glass_role_arn
    deployer_role_arns   = local.deployer_role_arns
    analyst_role_arn     = local.analyst_role_arn
    features             = { quicksight = var.quicksight != null }
  }
}
