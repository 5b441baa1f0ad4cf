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
  description = "UUID of the SQS event source mapping (what the local worker runs)."
  value       = aws_lambda_event_source_mapping.raw_events.uuid
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
  description = "What the event source mapping delivers: queue, batch size, batching window, partial-failure reporting, enabled, and whether it invokes the live alias."
  value = {
    queue_arn                  = aws_lambda_event_source_mapping.raw_events.event_source_arn
    batch_size                 = aws_lambda_event_source_mapping.raw_events.batch_size
    batching_window_seconds    = aws_lambda_event_source_mapping.raw_events.maximum_batching_window_in_seconds
    report_batch_item_failures = contains(aws_lambda_event_source_mapping.raw_events.function_response_types, "ReportBatchItemFailures")
    enabled                    = aws_lambda_event_source_mapping.raw_events.enabled
    through_alias              = var.trigger_through_alias
  }
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
  description = "The processor's IAM statements (stores, queue, key): what a container worker of the same processor is granted too (modules/workers), and nothing more."
  value       = local.statements
}

output "environment" {
  description = "The processor's settings as the function receives them (buckets, table, prefixes, renditions, budget): the container worker runs with the same."
  value       = local.environment
}
