# Retention audit: an EventBridge schedule runs retention_audit (imgpipe.retention_audit), which purges
# image-derived data past retention_days that S3 lifecycle and DynamoDB TTL have not deleted yet (both are
# asynchronous), counts it (RetentionPurged) and reports what is older than their lag explains
# (RetentionViolations). Its alarm also fires when the audit stops reporting.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name = "${var.name_prefix}-retention_audit"

  buckets     = distinct(concat([var.raw_bucket_name, var.processed_bucket_name], var.extra_bucket_names))
  bucket_arns = [for b in local.buckets : "arn:${local.partition}:s3:::${b}"]

  # The module adds WriteOwnLogs (its log group) and WriteTraces (X-Ray) after these.
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
  ]
}

module "function" {
  source = "../lambda_function"

  name         = local.function_name
  description  = "${var.name_prefix}: purge image-derived data past ${var.retention_days} days"
  package      = var.function
  architecture = var.lambda_architecture
  memory_size  = 512
  timeout      = var.timeout_seconds
  # One audit at a time: two would list and delete the same versions.
  reserved_concurrency = 1
  kms_key_arn          = var.kms_key_arn
  # Logs name image ids and keys of purged data: kept no longer than retention_days (at most 7).
  log_retention_days = var.retention_days
  environment_variables = {
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
  policy_statements = local.statements
  # A failed scheduled run is retried by the next one; this alarm and the violations alarm (missing data =
  # breaching) report it.
  alarms = {
    actions = var.alarm_actions
    errors = {
      period_seconds = var.schedule_interval_minutes * 60
      description    = "${local.function_name} failed: expired data may outlive the retention until it succeeds."
    }
  }
  function_tags = { "imgpipe:function" = "retention_audit" }
  tags          = var.tags
}

resource "aws_cloudwatch_event_rule" "schedule" {
  name                = local.function_name
  description         = "Runs ${local.function_name} every ${var.schedule_interval_minutes} minutes"
  schedule_expression = "rate(${var.schedule_interval_minutes} minutes)"

  tags = var.tags
}

resource "aws_cloudwatch_event_target" "audit" {
  rule = aws_cloudwatch_event_rule.schedule.name
  arn  = module.function.alias_arn
}

resource "aws_lambda_permission" "schedule" {
  statement_id  = "RunOnSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function.function_name
  qualifier     = module.function.alias_name
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
