output "function_name" {
  description = "Name of the metadata_export function."
  value       = module.function.function_name
}

output "event_source" {
  description = "What metadata_export consumes, as declared: the local runtime (scripts/local/event_sources/dynamodb_streams.py) delivers exactly this when create_event_source_mapping is off."
  value = {
    function_name              = module.function.function_name
    stream_arn                 = var.table_stream_arn
    batch_size                 = var.batch_size
    starting_position          = "TRIM_HORIZON"
    report_batch_item_failures = true
    mapping_created            = var.create_event_source_mapping
  }
}

output "export_prefix" {
  description = "Key prefix of the export files in the analytics bucket (dt=YYYY-MM-DD/hour=HH/ below it)."
  value       = local.export_prefix
}

output "glue_database_name" {
  description = "Glue database of the exports."
  value       = aws_glue_catalog_database.this.name
}

output "glue_table_name" {
  description = "Glue table of every change (upserts and tombstones)."
  value       = aws_glue_catalog_table.changes.name
}

output "athena_workgroup_name" {
  description = "Athena workgroup for BI (enforced encryption, scan limit)."
  value       = aws_athena_workgroup.this.name
}

output "named_queries" {
  description = "The reports, by name, as Athena runs them."
  value       = { for k, q in aws_athena_named_query.reports : k => q.name }
}

output "export_failures_queue_url" {
  description = "URL of the queue receiving stream batches the export gave up on."
  value       = aws_sqs_queue.export_failures.url
}

output "analyst_role_arn" {
  description = "ARN of the read-only analyst role, or null without analyst_principal_arns."
  value       = try(aws_iam_role.analyst[0].arn, null)
}

output "alarm_names" {
  description = "Alarms of the export: given-up batches, iterator age."
  value       = [aws_cloudwatch_metric_alarm.export_failures.alarm_name, aws_cloudwatch_metric_alarm.iterator_age.alarm_name]
}

output "timeout_seconds" {
  description = "The export function's timeout (the observability module alarms on a p99 duration near it)."
  value       = module.function.timeout
}


output "queue_alarms" {
  description = "Each queue of this module with the alarm that watches its depth."
  value       = { (aws_sqs_queue.export_failures.name) = aws_cloudwatch_metric_alarm.export_failures.alarm_name }
}

output "role_arn" {
  description = "ARN of metadata_export's execution role (the analytics bucket's perimeter lets it write exports)."
  value       = module.function.role_arn
}
