# One Lambda function as every imgpipe domain module deploys it: a KMS-encrypted log group whose retention is
# bounded, an execution role that holds the caller's statements plus the two every function needs (its own log
# group, X-Ray), the function (CMK-encrypted environment, active tracing, a published version per code change),
# the `live` alias every trigger invokes, and the function-level alarms the caller asks for.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix

  log_group_name = "/aws/lambda/${var.name}"
  # Built from the name (known at plan time) so the role's policy does not wait for the log group.
  log_group_arn = "arn:${local.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:${local.log_group_name}"

  # CloudWatch Logs accepts only these retentions: keep the largest that does not exceed the caller's bound, so
  # no log line outlives what it describes.
  cloudwatch_retentions = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]
  log_retention_days    = max([for d in local.cloudwatch_retentions : d if d <= var.log_retention_days]...)

  statements = concat(var.policy_statements, [
    {
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "${local.log_group_arn}:*"
    },
    {
      # X-Ray trace submission has no resource-level permissions: "*" is the only resource AWS accepts.
      Sid      = "WriteTraces"
      Effect   = "Allow"
      Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      Resource = "*"
    },
  ])
}

resource "aws_cloudwatch_log_group" "this" {
  name              = local.log_group_name
  retention_in_days = local.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = local.log_group_name })
}

resource "aws_iam_role" "this" {
  name                 = var.name
  description          = "${var.name}: execution role"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_iam_role_policy" "this" {
  name   = "${var.name}-least-privilege"
  role   = aws_iam_role.this.name
  policy = jsonencode({ Version = "2012-10-17", Statement = local.statements })
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:imgpipe functions call only regional AWS APIs; a VPC would add NAT or endpoints and cold-start cost without isolating anything (kafka_ingest's pollers, not the function, reach the brokers' VPC).
  #checkov:skip=CKV_AWS_272:Zips are built reproducibly by scripts/deploy/package and pinned by source_code_hash in the reviewed plan; AWS Signer is not used.
  #checkov:skip=CKV_AWS_116:Every caller's failures go elsewhere: API Gateway returns them to the client, event source mappings to their queue's DLQ or on-failure destination, and a failed scheduled audit is retried by the next run and alarmed on.
  function_name                  = var.name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  runtime                        = var.runtime
  handler                        = var.handler
  architectures                  = [var.architecture]
  filename                       = var.package.filename
  source_code_hash               = var.package.source_code_hash
  publish                        = true
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = var.environment_variables
  }

  tracing_config {
    mode = var.tracing_mode
  }

  # function_tags last: no caller tag can replace them (imgpipe:function names the code's lambdas/ folder).
  tags = merge(var.tags, { Name = var.name }, var.function_tags)

  # The log group must exist (encrypted, with retention) before the first invocation could create it, and the
  # role must carry its policy before the function can use it.
  depends_on = [aws_cloudwatch_log_group.this, aws_iam_role_policy.this]
}

# Every trigger invokes the alias, never $LATEST: each apply that changes the code publishes an immutable version
# and moves `live` to it, so a rollback is one alias update (docs/operations.md), and the previous versions stay.
resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "What the triggers invoke: the version the last apply published"
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}

################################################################################
# Alarms (each only when the caller asks for it)
################################################################################

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.alarms.errors == null ? 0 : 1

  alarm_name          = "${var.name}-errors"
  alarm_description   = coalesce(var.alarms.errors.description, "${var.name} failed invocations over ${var.alarms.errors.threshold} in ${var.alarms.errors.period_seconds / 60} minutes.")
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = var.name }
  statistic           = "Sum"
  period              = var.alarms.errors.period_seconds
  evaluation_periods  = 1
  threshold           = var.alarms.errors.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarms.actions
  ok_actions          = var.alarms.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  count = var.alarms.throttles == null ? 0 : 1

  alarm_name          = "${var.name}-throttles"
  alarm_description   = "${var.name} was throttled: raise its reserved concurrency or the account limit, or slow the source."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = var.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarms.throttles.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarms.actions
  ok_actions          = var.alarms.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "duration_p99" {
  count = var.alarms.duration_p99 == null ? 0 : 1

  alarm_name          = "${var.name}-duration-p99"
  alarm_description   = "${var.name} p99 duration above ${floor(var.alarms.duration_p99.fraction_of_timeout * 100)}% of its ${var.timeout}s timeout: invocations are about to time out."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = var.name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = floor(var.timeout * 1000 * var.alarms.duration_p99.fraction_of_timeout)
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarms.actions
  ok_actions          = var.alarms.actions

  tags = var.tags
}
