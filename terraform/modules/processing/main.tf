# Image processing: raw-events queue (S3 ObjectCreated notifications) -> SQS event source mapping ->
# image_processor (imgpipe.processing: validate, renditions, metadata) -> processed bucket + metadata table.
# Failed messages are retried alone (ReportBatchItemFailures) and dead-lettered by the queue's redrive policy;
# alarms watch the DLQ, the age of the queue's oldest message and the function's errors.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name = "${var.name_prefix}-image_processor"

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

  # Split mode: only the function passes images on; the workers (which get local.environment) never do.
  function_environment = merge(local.environment, var.large_images == null ? {} : merge({
    LARGE_IMAGE_QUEUE_URL = var.large_images.queue_url
    LARGE_IMAGE_MIN_BYTES = tostring(var.large_images.min_bytes)
    }, var.large_images.min_pixels == null ? {} : {
    LARGE_IMAGE_MIN_PIXELS = tostring(var.large_images.min_pixels)
  }))
  function_statements = concat(local.statements, [{
    Sid      = "ConsumeRawEvents"
    Effect   = "Allow"
    Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
    Resource = var.queue_arn
    }], var.large_images == null ? [] : [{
    Sid      = "PassLargeImagesToWorkers"
    Effect   = "Allow"
    Action   = ["sqs:SendMessage"]
    Resource = var.large_images.queue_arn
  }])

  # What processing an image needs, whoever does it (the function, modules/workers' tasks): the stores and the
  # key. Each consumer adds its own queue; the module adds WriteOwnLogs and WriteTraces to the function's.
  statements = [
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
      # DeleteObjectVersion: renditions written for an image deleted while it was processed (its tenant's
      # DELETE could not know them) are removed again, every version.
      Sid      = "WriteAndPurgeRenditions"
      Effect   = "Allow"
      Action   = ["s3:PutObject", "s3:DeleteObjectVersion"]
      Resource = "${var.processed_bucket_arn}/${var.processed_prefix}*"
    },
    {
      # ...found by listing the versions of the one key it removes, only under the renditions prefix.
      Sid       = "ListRenditionVersionsUnderPrefix"
      Effect    = "Allow"
      Action    = ["s3:ListBucketVersions"]
      Resource  = var.processed_bucket_arn
      Condition = { StringLike = { "s3:prefix" = ["${var.processed_prefix}*"] } }
    },
    {
      Sid      = "ReadAndUpdateImageMetadata"
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
      Resource = var.table_arn
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
  ]
}

module "function" {
  source = "../lambda_function"

  name                 = local.function_name
  description          = "${var.name_prefix}: raw image -> renditions + metadata (S3 events from SQS)"
  package              = var.function
  architecture         = var.lambda_architecture
  memory_size          = var.memory_mb
  timeout              = var.timeout_seconds
  reserved_concurrency = var.reserved_concurrency
  kms_key_arn          = var.kms_key_arn
  # Logs describe image-derived data, which is never kept longer than retention_days (at most 7).
  log_retention_days    = var.retention_days
  environment_variables = local.function_environment
  policy_statements     = local.function_statements
  alarms = {
    actions = var.alarm_actions
    errors  = { description = "${local.function_name} failed invocations (transient AWS errors are retried; a steady rate is not transient)." }
  }
  function_tags = { "imgpipe:function" = "image_processor" }
  tags          = var.tags
}

resource "aws_lambda_event_source_mapping" "raw_events" {
  count = var.lambda_consumes_queue ? 1 : 0

  event_source_arn                   = var.queue_arn
  function_name                      = var.trigger_through_alias ? module.function.alias_arn : module.function.function_arn
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

moved {
  from = aws_lambda_event_source_mapping.raw_events
  to   = aws_lambda_event_source_mapping.raw_events[0]
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
