output "function_name" {
  description = "Name of the kafka_ingest function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the kafka_ingest function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "event_source" {
  description = "What the function consumes, as declared: the local Kafka event source (scripts/local/event_sources/kafka.py) runs exactly this when create_event_source_mapping is off."
  value = {
    type                    = var.kafka.type
    bootstrap_servers       = var.kafka.bootstrap_servers
    cluster_arn             = local.cluster_arn
    topic                   = var.kafka.topic
    consumer_group_id       = var.kafka.consumer_group_id
    batch_size              = var.batch_size
    batching_window_seconds = var.batching_window_seconds
    starting_position       = var.starting_position
    function_name           = module.function.function_name
    on_failure_queue_url    = aws_sqs_queue.rejects.url
    mapping_created         = var.create_event_source_mapping
  }
}

output "rejects_queue_url" {
  description = "URL of the queue that receives rejected records (reason + coordinates) and given-up records."
  value       = aws_sqs_queue.rejects.url
}

output "rejects_queue_arn" {
  description = "ARN of the rejects queue."
  value       = aws_sqs_queue.rejects.arn
}

output "idempotency_table_name" {
  description = "The function's idempotency table (one record per dedup key, expiring with the retention window)."
  value       = aws_dynamodb_table.idempotency.name
}

output "alarm_names" {
  description = "Alarms of the Kafka path: offset lag, rejects queue not empty."
  value       = [aws_cloudwatch_metric_alarm.offset_lag.alarm_name, aws_cloudwatch_metric_alarm.rejects.alarm_name]
}

output "msk_cluster_arn" {
  description = "ARN of the MSK cluster this module created (new_msk_cluster), or null."
  value       = try(aws_msk_cluster.this[0].arn, null)
}

output "msk_bootstrap_brokers_iam" {
  description = "Bootstrap brokers (IAM over TLS) of the created cluster, for producers; null without new_msk_cluster."
  value       = try(aws_msk_cluster.this[0].bootstrap_brokers_sasl_iam, null)
}

output "vpc_endpoint_ids" {
  description = "Interface endpoints created for the event source's pollers, by service (sts, lambda, secretsmanager)."
  value       = { for service, endpoint in aws_vpc_endpoint.pollers : service => endpoint.id }
}

output "timeout_seconds" {
  description = "The function's timeout (the observability module alarms on a p99 duration near it)."
  value       = module.function.timeout
}


output "scram_secret_arn" {
  description = "The SCRAM secret the event source reads (the caller's, or the one made here), or null without SCRAM."
  value       = local.is_scram ? local.scram_secret : null
}

output "queue_alarms" {
  description = "Each queue of this module with the alarm that watches its depth."
  value       = { (aws_sqs_queue.rejects.name) = aws_cloudwatch_metric_alarm.rejects.alarm_name }
}

output "claim_check_producer_policies" {
  description = "Per source-id of kafka.source_tenants (exact names; the topic's name stands for records without one when default_tenant is set): the IAM policy a producer of that source needs to stage claim-check objects — s3:PutObject under <claim_check_prefix><source>/ only, SSE-KMS with the environment's key. kafka_ingest refuses a claim-check outside the record's own folder; with these, producers cannot even write into each other's folders. A \"prefix*\" source has no entry: give its producers their exact names."
  value = {
    for source in concat(
      [for s in keys(var.kafka.source_tenants) : s if !endswith(s, "*")],
      var.kafka.default_tenant == null ? [] : [var.kafka.topic],
      ) : source => jsonencode({
        Version = "2012-10-17"
        Statement = [
          {
            Sid      = "StageOwnClaimChecks"
            Effect   = "Allow"
            Action   = ["s3:PutObject"]
            Resource = "${var.raw_bucket_arn}/${var.claim_check_prefix}${source}/*"
            Condition = {
              StringEquals = {
                "s3:x-amz-server-side-encryption"                = "aws:kms"
                "s3:x-amz-server-side-encryption-aws-kms-key-id" = var.kms_key_arn
              }
            }
          },
          {
            Sid       = "EncryptStagedObjectsWithTheEnvironmentKey"
            Effect    = "Allow"
            Action    = ["kms:GenerateDataKey"]
            Resource  = var.kms_key_arn
            Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.${local.dns_suffix}" } }
          },
        ]
    })
  }
}
