output "alarm_topic_arn" {
  description = "The SNS topic every alarm of the pipeline notifies."
  value       = aws_sns_topic.alarms.arn
}

output "function_alarms" {
  description = "Per function: its errors (null when its module has its own), throttles and p99-duration alarm names."
  value = {
    for k, f in var.functions : k => {
      errors       = try(aws_cloudwatch_metric_alarm.errors[k].alarm_name, null)
      throttles    = aws_cloudwatch_metric_alarm.throttles[k].alarm_name
      duration_p99 = aws_cloudwatch_metric_alarm.duration_p99[k].alarm_name
    }
  }
}

output "alarm_names" {
  description = "Every alarm this module creates."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.duration_p99 : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.api_5xx : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.api_latency_p99 : a.alarm_name],
    [aws_cloudwatch_metric_alarm.processing_time_p99.alarm_name],
  )
}

output "dashboard_name" {
  description = "The pipeline's CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.pipeline.dashboard_name
}
