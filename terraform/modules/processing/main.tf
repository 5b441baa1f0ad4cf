# Image processing: raw-events queue (S3 ObjectCreated notifications) -> SQS event source mapping ->
# image_processor (imgpipe.processing: validate, renditions, metadata) -> processed bucket + metadata table.
# Failed messages are retried alone (ReportBatchItemFailures) and dead-lettered by the queue's redrive policy;
# alarms watch the DLQ, the age of the queue's oldest message and the function's errors.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name  = "${var.name_prefix}-image_processor"
  log_group_name = "/aws/lambda/${local.function_name}"
  log_group_arn  = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"

  # CloudWatch Logs only accepts fixed retention values; the ones <= 7 days are 1, 3, 5 and 7.
  log_retention_days = max([for d in [1, 3, 5, 7] : d if d <= var.retention_days]...)

  # The rendition list exactly as imgpipe.renditions.parse_renditions reads it.
  renditions_json = jsonencode([
    for r in var.renditions : {
      name     = r.name
      max_edge = r.max_edge
      format   = r.format
      quality  = r.quality
      operations = {
        crop_aspect  = r.operations.crop_aspect
        grayscale    = r.operations.grayscale
        autocontrast = r.operations.autocontrast
        blur_radius  = r.operations.blur_radius
        sharpen      = r.operations.sharpen
        watermark    = r.operations.watermark
      }
    }
  ])

  environment = {
    RAW_BUCKET              = var.raw_bucket_name
    RAW_PREFIX              = var.raw_prefix
    PROCESSED_BUCKET        = var.processed_bucket_name
    PROCESSED_PREFIX        = var.processed_prefix
    TABLE_NAME              = var.table_name
    KMS_KEY_ARN             = var.kms_key_arn
    RENDITIONS_JSON         = local.renditions_json
    MAX_UPLOAD_BYTES        = tostring(var.max_upload_bytes)
    IMAGE_BUDGET_SECONDS    = tostring(var.image_budget_seconds)
    MALWARE_SCAN            = var.malware_scan
    POWERTOOLS_SERVICE_NAME = "image_processor"
    # X-Ray keeps traces 30 days, whatever the retention: no return values or error text (image metadata) there.
    POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
    POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
    LOG_LEVEL                          = var.log_level
  }

  policy = {
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "ReadAndDeleteRawObjects"
        Effect = "Allow"
        # GetObjectTagging: GuardDuty Malware Protection's verdict is the object's GuardDutyMalwareScanStatus tag.
        Action   = ["s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject", "s3:DeleteObjectVersion"]
        Resource = "${var.raw_bucket_arn}/${var.raw_prefix}*"
      },
      {
        # ListBucket makes a GetObject of a vanished key answer 404 (not 403); ListBucketVersions lets a delete
        # find every version of the one key it removes. Both only under the raw prefix.
        Sid       = "ListRawObjectsUnderPrefix"
        Effect    = "Allow"
        Action    = ["s3:ListBucket", "s3:ListBucketVersions"]
        Resource  = var.raw_bucket_arn
        Condition = { StringLike = { "s3:prefix" = ["${var.raw_prefix}*"] } }
      },
      {
        Sid      = "WriteRenditions"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = "${var.processed_bucket_arn}/${var.processed_prefix}*"
      },
      {
        Sid      = "ReadAndUpdateImageMetadata"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
        Resource = var.table_arn
      },
      {
        Sid      = "ConsumeRawEvents"
        Effect   = "Allow"
        Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
        Resource = var.queue_arn
      },
      {
        # Decrypt raw objects, queue messages and the function's environment; data keys for SSE-KMS renditions.
        Sid      = "UseEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = [for s in ["s3", "sqs", "dynamodb", "lambda"] : "${s}.${local.region}.${local.dns_suffix}"] }
        }
      },
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
    ]
  }
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Logs describe image-derived data, which is never kept longer than 7 days (retention_days); one year of retention would break that rule.
  name              = local.log_group_name
  retention_in_days = local.log_retention_days
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
  policy = jsonencode(local.policy)
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls regional AWS APIs (S3, DynamoDB, SQS, KMS); a VPC would add NAT/endpoints and cold-start cost without isolating anything.
  #checkov:skip=CKV_AWS_272:Zips are built reproducibly by scripts/package and pinned by source_code_hash in the reviewed plan; AWS Signer is not used.
  #checkov:skip=CKV_AWS_116:Invoked by an SQS event source mapping, whose failures go to the queue's own DLQ (redrive policy); a function DLQ only applies to asynchronous invocations.
  function_name                  = local.function_name
  description                    = "${var.name_prefix}: raw image -> renditions + metadata (S3 events from SQS)"
  role                           = aws_iam_role.this.arn
  runtime                        = "python3.12"
  handler                        = "handler.handler"
  architectures                  = [var.lambda_architecture]
  filename                       = var.function.filename
  source_code_hash               = var.function.source_code_hash
  publish                        = true
  memory_size                    = var.memory_mb
  timeout                        = var.timeout_seconds
  reserved_concurrent_executions = var.reserved_concurrency == null ? -1 : var.reserved_concurrency
  kms_key_arn                    = var.kms_key_arn

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  # imgpipe:function names the lambdas/ folder (the local runtime finds the code through it); applied last.
  tags = merge(var.tags, { Name = local.function_name }, { "imgpipe:function" = "image_processor" })

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

resource "aws_lambda_event_source_mapping" "raw_events" {
  event_source_arn                   = var.queue_arn
  function_name                      = var.trigger_through_alias ? aws_lambda_alias.live.arn : aws_lambda_function.this.arn
  enabled                            = var.trigger_enabled
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "scaling_config" {
    for_each = var.maximum_concurrency == null ? [] : [var.maximum_concurrency]
    content {
      maximum_concurrency = scaling_config.value
    }
  }

  lifecycle {
    precondition {
      condition     = var.queue_visibility_timeout_seconds >= 6 * var.timeout_seconds
      error_message = "The raw-events queue's visibility timeout (${var.queue_visibility_timeout_seconds}s) must be at least 6 x the processor's timeout (${6 * var.timeout_seconds}s), or batches still in flight are delivered again."
    }
    precondition {
      # The handler releases a message it has no time left for, so a batch never times out; this keeps a
      # batch of worst-case images within one invocation, so that releasing stays the exception.
      condition     = var.timeout_seconds >= var.batch_size * var.image_budget_seconds + 10
      error_message = "The processor's timeout (${var.timeout_seconds}s) must fit batch_size (${var.batch_size}) x image_budget_seconds (${var.image_budget_seconds}s) + 10s: ${var.batch_size * var.image_budget_seconds + 10}s."
    }
  }
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${var.name_prefix}-raw-events-dlq-not-empty"
  alarm_description   = "Raw-event messages failed ${var.name_prefix}-image_processor repeatedly and were dead-lettered: inspect ${var.dlq_name}, fix, then redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.dlq_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "backlog_age" {
  alarm_name          = "${var.name_prefix}-raw-events-backlog-age"
  alarm_description   = "The oldest raw-event message has waited over ${var.backlog_age_alarm_seconds}s: processing is stalled or under-provisioned (check the mapping's state, throttles, reserved_concurrency)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.backlog_age_alarm_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  alarm_name          = "${local.function_name}-errors"
  alarm_description   = "${local.function_name} failed invocations (transient AWS errors are retried; a steady rate is not transient)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = local.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
