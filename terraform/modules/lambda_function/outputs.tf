output "function_name" {
  description = "Name of the function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "Unqualified ARN of the function (invokes $LATEST: give triggers alias_arn instead)."
  value       = aws_lambda_function.this.arn
}

output "function_version" {
  description = "The version the last apply published (what the live alias points to)."
  value       = aws_lambda_function.this.version
}

output "timeout" {
  description = "The function's timeout in seconds."
  value       = aws_lambda_function.this.timeout
}

output "alias_name" {
  description = "Name of the alias every trigger invokes: live."
  value       = aws_lambda_alias.live.name
}

output "alias_arn" {
  description = "ARN of the live alias: what event source mappings, schedules and permissions name."
  value       = aws_lambda_alias.live.arn
}

output "alias_invoke_arn" {
  description = "Invoke ARN of the live alias: what an API Gateway integration or authorizer names."
  value       = aws_lambda_alias.live.invoke_arn
}

output "role_name" {
  description = "Name of the execution role."
  value       = aws_iam_role.this.name
}

output "role_arn" {
  description = "ARN of the execution role."
  value       = aws_iam_role.this.arn
}

output "policy" {
  description = "The role's inline policy document (JSON): the caller's statements, WriteOwnLogs and WriteTraces."
  value       = aws_iam_role_policy.this.policy
}

output "log_group_name" {
  description = "Name of the function's log group (KMS-encrypted, bounded retention)."
  value       = aws_cloudwatch_log_group.this.name
}

output "log_group_arn" {
  description = "ARN of the function's log group."
  value       = aws_cloudwatch_log_group.this.arn
}

output "log_retention_days" {
  description = "Retention of the log group: the largest CloudWatch value not above log_retention_days."
  value       = local.log_retention_days
}

output "alarm_names" {
  description = "Names of the alarms created, by kind (errors, throttles, duration_p99)."
  value = merge(
    { for a in aws_cloudwatch_metric_alarm.errors : "errors" => a.alarm_name },
    { for a in aws_cloudwatch_metric_alarm.throttles : "throttles" => a.alarm_name },
    { for a in aws_cloudwatch_metric_alarm.duration_p99 : "duration_p99" => a.alarm_name },
  )
}

# The resources whole: a module's `terraform test` can only read a child module's outputs, and the domain
# modules' suites assert on the attributes (environment, tags, tracing, encryption, the policy) they set.
output "lambda_function" {
  description = "The aws_lambda_function resource (every attribute)."
  value       = aws_lambda_function.this
}

output "lambda_alias" {
  description = "The aws_lambda_alias resource `live` (every attribute)."
  value       = aws_lambda_alias.live
}

output "iam_role" {
  description = "The aws_iam_role resource (every attribute)."
  value       = aws_iam_role.this
}

output "iam_role_policy" {
  description = "The aws_iam_role_policy resource (every attribute)."
  value       = aws_iam_role_policy.this
}

output "log_group" {
  description = "The aws_cloudwatch_log_group resource (every attribute)."
  value       = aws_cloudwatch_log_group.this
}

output "alarms" {
  description = "The aws_cloudwatch_metric_alarm resources created, by kind (errors, throttles, duration_p99)."
  value = merge(
    { for a in aws_cloudwatch_metric_alarm.errors : "errors" => a },
    { for a in aws_cloudwatch_metric_alarm.throttles : "throttles" => a },
    { for a in aws_cloudwatch_metric_alarm.duration_p99 : "duration_p99" => a },
  )
}
