output "function_name" {
  description = "Name of the retention_audit function."
  value       = module.function.function_name
}

output "schedule_rule_name" {
  description = "EventBridge rule that runs the audit (the local runtime invokes its target on a moved clock)."
  value       = aws_cloudwatch_event_rule.schedule.name
}

output "schedule_expression" {
  description = "How often the audit runs."
  value       = aws_cloudwatch_event_rule.schedule.schedule_expression
}

output "audited_buckets" {
  description = "Every bucket the audit bounds."
  value       = local.buckets
}

output "alarm_names" {
  description = "Alarms of the retention guarantee: violations (or no report), audit errors."
  value       = [aws_cloudwatch_metric_alarm.violations.alarm_name, module.function.alarm_names["errors"]]
}

output "timeout_seconds" {
  description = "The function's timeout (the observability module alarms on a p99 duration near it)."
  value       = module.function.timeout
}

output "role_arn" {
  description = "ARN of the audit's execution role (the buckets' perimeter lets it purge objects)."
  value       = module.function.role_arn
}
