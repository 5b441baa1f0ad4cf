# Retention audit: an EventBridge schedule runs retention_audit (imgpipe.retention_audit), which purges
# image-derived data past retention_days that S3 lifecycle and DynamoDB TTL have not deleted yet (both are
# asynchronous), counts it (RetentionPurged) and reports what is older than their lag explains
# (RetentionViolations). Its alarm also fires when the audit stops reporting.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name  = "${var.name_prefix}-retention_audit"
  log_group_name = "/aws/lambda/${local.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
  log_retention  = max([for d in [1, 3, 5, 7] : d if d <= var.retention_days]...)

  buckets     = distinct(concat([var.raw_bucket_name, var.processed_bucket_name], var.extra_bucket_names))
  bucket_arns = [for b in local.buckets : "arn:${local.partition}:s3:::${b}"]

  statements = [
    {
      Sid      = "ListImageBucketVersions"
      Effect   = "Allow"
      Action   = ["s3:ListBucket", "s3:ListBucketVersions"]
      Resource = local.bucket_arns
    },
    {
      # The audit's whole job is every object of these buckets: versions past the window, wherever they are.
      Sid      = "PurgeImageObjectVersions"
      Effect   = "Allow"
      Action   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
      Resource = [for arn in local.bucket_arns : "${arn}/*"]
    },
    {
      Sid      = "FindExpiredItemsByDay"
      Effect   = "Allow"
      Action   = ["dynamodb:Query"]
      Resource = "${var.table_arn}/index/by_day"
    },
    {
      Sid      = "DeleteExpiredItems"
      Effect   = "Allow"
      Action   = ["dynamodb:DeleteItem"]
      Resource = var.table_arn
    },
    {
      # Items, listings and the function's environment: through those services only.
      Sid      = "ReadThroughEnvironmentKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = var.kms_key_arn
      Condition = {
        StringEquals = { "kms:ViaService" = [for s in ["s3", "dynamodb", "lambda"] : "${s}.${local.region}.${local.dns_suffix}"] }
      }
    },
    {
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = "${local.log_group_arn}:*"
    },
    {
      # X-Ray trace submission has no resource-level permissions.
      Sid      = "WriteTraces"
      Effect   = "Allow"
      Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
      Resource = "*"
    },
  ]
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Logs name image ids and keys of purged data; kept no longer than retention_days (at most 7).
  name              = local.log_group_name
  retention_in_days = local.log_retention
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = local.log_group_name })
}

resource "aws_iam_role" "this" {
  name                 = local.function_name
  description          = "${local.function_name}: execution role"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { Name = local.function_name })
}

resource "aws_iam_role_policy" "this" {
  name   = "${local.function_name}-least-privilege"
  role   = aws_iam_role.this.name
  policy = jsonencode({ Version = "2012-10-17", Statement = local.statements })
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:Calls only regional AWS APIs (S3, DynamoDB); no VPC resource to reach.
  #checkov:skip=CKV_AWS_272:Zips are built reproducibly by scripts/package and pinned by source_code_hash in the reviewed plan.
  #checkov:skip=CKV_AWS_116:A failed scheduled run is retried by the next one; its errors alarm and the violations alarm (missing data = breaching) report it. A DLQ would hold only the empty schedule event.
  function_name    = local.function_name
  description      = "${var.name_prefix}: purge image-derived data past ${var.retention_days} days"
  role             = aws_iam_role.this.arn
  runtime          = "python3.12"
  handler          = "handler.handler"
  architectures    = [var.lambda_architecture]
  filename         = var.function.filename
  source_code_hash = var.function.source_code_hash
  publish          = true
  memory_size      = 512
  timeout          = var.timeout_seconds
  kms_key_arn      = var.kms_key_arn
  # One audit at a time: two would list and delete the same versions.
  reserved_concurrent_executions = 1

  environment {
    variables = {
      RAW_BUCKET              = var.raw_bucket_name
      PROCESSED_BUCKET        = var.processed_bucket_name
      EXTRA_BUCKETS_JSON      = jsonencode(var.extra_bucket_names)
      TABLE_NAME              = var.table_name
      KMS_KEY_ARN             = var.kms_key_arn
      RETENTION_DAYS          = tostring(var.retention_days)
      GRACE_HOURS             = tostring(var.grace_hours)
      TRUST_EVENT_TIME        = tostring(var.trust_event_time)
      POWERTOOLS_SERVICE_NAME = "retention_audit"
      # X-Ray keeps traces 30 days, whatever the retention: no return values or error text (image ids) there.
      POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
      POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
      LOG_LEVEL                          = var.log_level
    }
  }

  tracing_config {
    mode = "Active"
  }

  tags = merge(var.tags, { Name = local.function_name }, { "imgpipe:function" = "retention_audit" })

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

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.function_name
  description         = "Runs ${local.function_name} every ${var.schedule_interval_minutes} minutes"
  schedule_expression = "rate(${var.schedule_interval_minutes} minutes)"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "audit" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = aws_lambda_alias.live.arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "RunOnSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "events.${local.dns_suffix}"
  source_arn    = aws_cloudwatch_event_rule.schedule.arn
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "violations" {
  alarm_name          = "${var.name_prefix}-retention-violations"
  alarm_description   = "Image-derived data was found more than ${var.grace_hours} h past its ${var.retention_days}-day retention (it was purged; find out why), or the audit did not report for two intervals."
  namespace           = "imgpipe"
  metric_name         = "RetentionViolations"
  dimensions          = { service = "retention_audit" }
  statistic           = "Maximum"
  period              = var.schedule_interval_minutes * 60
  evaluation_periods  = 2
  datapoints_to_alarm = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "breaching" # no datapoint: the audit is not running, so nothing guarantees the purge
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "${local.function_name} failed: expired data may outlive the retention until it succeeds."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.function_name }
  statistic           = "Sum"
  period              = var.schedule_interval_minutes * 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
