output "function_name" {
  description = "Name of the image_processor function."
  value       = module.function.function_name
}

output "function_arn" {
  description = "ARN of the image_processor function."
  value       = module.function.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.function.role_arn
}

output "event_source_mapping_uuid" {
  description = "UUID of the SQS event source mapping (what the local worker runs); null when the function does not consume the queue."
  value       = one(aws_lambda_event_source_mapping.raw_events[*].uuid)
}

output "processed_prefix" {
  description = "Key prefix of renditions in the processed bucket."
  value       = var.processed_prefix
}

output "renditions_json" {
  description = "The rendition list as the function receives it (RENDITIONS_JSON)."
  value       = local.renditions_json
}

output "log_group_name" {
  description = "The function's log group (KMS-encrypted, retention <= retention_days)."
  value       = module.function.log_group_name
}

output "log_retention_days" {
  description = "Retention of the function's log group."
  value       = module.function.log_retention_days
}

output "alarm_names" {
  description = "CloudWatch alarms of the processing path: DLQ not empty, backlog age, function errors."
  value = [
    aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name,
    aws_cloudwatch_metric_alarm.backlog_age.alarm_name,
    module.function.alarm_names["errors"],
  ]
}

output "event_source" {
  description = "What the event source mapping delivers: queue, batch size, batching window, partial-failure reporting, enabled, and whether it invokes the live alias; null when the function does not consume the queue."
  value = one([
    for m in aws_lambda_event_source_mapping.raw_events : {
      queue_arn                  = m.event_source_arn
      batch_size                 = m.batch_size
      batching_window_seconds    = m.maximum_batching_window_in_seconds
      report_batch_item_failures = contains(m.function_response_types, "ReportBatchItemFailures")
      enabled                    = m.enabled
      through_alias              = var.trigger_through_alias
    }
  ])
}

output "timeout_seconds" {
  description = "The function's timeout (the observability module alarms on a p99 duration near it)."
  value       = module.function.timeout
}

output "queue_alarms" {
  description = "Each queue of this module with the alarm that watches it (backlog age, DLQ depth)."
  value = {
    (var.queue_name) = aws_cloudwatch_metric_alarm.backlog_age.alarm_name
    (var.dlq_name)   = aws_cloudwatch_metric_alarm.dlq_not_empty.alarm_name
  }
}

output "processor_statements" {
  description = "The processor's IAM statements on the stores and the key (no queue: each consumer is granted its own): what a container worker of the same processor is granted too (modules/workers), and nothing more."
  value       = local.statements
}

output "environment" {
  description = "The processor's settings as the function receives them (buckets, table, prefixes, renditions, budget): the container worker runs with the same."
  value       = local.environment
}

output "function_environment" {
  description = "The function's settings: environment plus, in split mode, where and from what size it passes images on."
  value       = local.function_environment
}
