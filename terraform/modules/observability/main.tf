# The pipeline's operations view: one encrypted SNS topic every alarm notifies, the alarms every function and the
# API share (errors, throttles, p99 duration near the timeout; 5xx and p99 latency), the processing latency p99,
# and a CloudWatch dashboard (ingest rate by source, rejections by reason, processing latency, queue depth).
# Domain alarms (DLQs, backlog, Kafka offset lag, retention violations, export failures) stay in their modules
# and notify the same topic (the pipeline passes alarm_topic_arn to them).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  region  = data.aws_region.current.name
  actions = concat([aws_sns_topic.alarms.arn], var.extra_alarm_actions)

  errors_alarmed = { for k, f in var.functions : k => f if !f.own_errors_alarm }
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  display_name      = "${var.name_prefix} alarms"
  kms_master_key_id = var.kms_key_arn

  tags = var.tags
}

resource "aws_sns_topic_policy" "alarms" {
  arn = aws_sns_topic.alarms.arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Only CloudWatch alarms of this account publish; nobody subscribes over plain HTTP.
        Sid       = "CloudWatchAlarmsOfThisAccountPublish"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.${data.aws_partition.current.dns_suffix}" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alarms.arn
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${data.aws_partition.current.partition}:cloudwatch:${local.region}:${data.aws_caller_identity.current.account_id}:alarm:${var.name_prefix}-*" }
        }
      },
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "sns:*"
        Resource  = aws_sns_topic.alarms.arn
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })
}

resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_emails)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

################################################################################
# Every function
################################################################################

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each = local.errors_alarmed

  alarm_name          = "${each.value.name}-errors"
  alarm_description   = "${each.value.name} failed invocations over ${var.thresholds.function_errors} in 5 minutes."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.function_errors
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each = var.functions

  alarm_name          = "${each.value.name}-throttles"
  alarm_description   = "${each.value.name} was throttled: raise its reserved concurrency or the account limit, or slow the source."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.thresholds.function_throttles
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "duration_p99" {
  for_each = var.functions

  alarm_name          = "${each.value.name}-duration-p99"
  alarm_description   = "${each.value.name} p99 duration above ${floor(var.thresholds.duration_p99_fraction_of_timeout * 100)}% of its ${each.value.timeout_seconds}s timeout: invocations are about to time out."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = each.value.name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = floor(each.value.timeout_seconds * 1000 * var.thresholds.duration_p99_fraction_of_timeout)
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

################################################################################
# API and processing
################################################################################

resource "aws_cloudwatch_metric_alarm" "api_5xx" {
  count = var.api == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-api-5xx"
  alarm_description   = "More than ${var.thresholds.api_5xx_rate * 100}% of API requests answered 5xx (our fault, not the caller's)."
  namespace           = "AWS/ApiGateway"
  metric_name         = "5XXError"
  dimensions          = { ApiName = var.api.name, Stage = var.api.stage }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = var.thresholds.api_5xx_rate
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "api_latency_p99" {
  count = var.api == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-api-latency-p99"
  alarm_description   = "API p99 latency above ${var.thresholds.api_latency_p99_ms} ms."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = { ApiName = var.api.name, Stage = var.api.stage }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.thresholds.api_latency_p99_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "processing_time_p99" {
  alarm_name          = "${var.name_prefix}-processing-time-p99"
  alarm_description   = "The processor's own time per image (decode, renditions, writes) at p99 is above ${var.thresholds.processing_time_p99_ms} ms."
  namespace           = var.metrics_namespace
  metric_name         = "ProcessingTime"
  dimensions          = { service = "image_processor" }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 3
  datapoints_to_alarm = 2
  threshold           = var.thresholds.processing_time_p99_ms
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions

  tags = var.tags
}

################################################################################
# Dashboard
################################################################################

locals {
  namespace = var.metrics_namespace
  widgets = [
    {
      type = "metric", x = 0, y = 0, width = 12, height = 6
      properties = {
        title   = "Ingest rate by source (images / 5 min)"
        region  = local.region
        stat    = "Sum"
        period  = 300
        metrics = [for source, metric in var.ingest_metrics : [local.namespace, metric.name, "service", metric.service, { label = source }]]
      }
    },
    {
      type = "metric", x = 12, y = 0, width = 12, height = 6
      properties = {
        title  = "Rejections by reason"
        region = local.region
        period = 300
        metrics = [[{
          expression = "SEARCH('{${local.namespace},reason,service} MetricName=\"ImagesRejected\"', 'Sum', 300)"
          id         = "rejections"
          label      = "$${PROP('Dim.reason')} ($${PROP('Dim.service')})"
        }]]
      }
    },
    {
      type = "metric", x = 0, y = 6, width = 12, height = 6
      properties = {
        title  = "Processing time per image (ms)"
        region = local.region
        period = 300
        metrics = [
          [local.namespace, "ProcessingTime", "service", "image_processor", { stat = "p50", label = "p50" }],
          [local.namespace, "ProcessingTime", "service", "image_processor", { stat = "p99", label = "p99" }],
        ]
        annotations = { horizontal = [{ label = "alarm", value = var.thresholds.processing_time_p99_ms }] }
      }
    },
    {
      type = "metric", x = 12, y = 6, width = 12, height = 6
      properties = {
        title   = "Queue depth (messages visible)"
        region  = local.region
        stat    = "Maximum"
        period  = 60
        metrics = [for q in var.queue_names : ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q]]
      }
    },
    {
      type = "metric", x = 0, y = 12, width = 24, height = 6
      properties = {
        title  = "Function errors and throttles"
        region = local.region
        stat   = "Sum"
        period = 300
        metrics = concat(
          [for f in values(var.functions) : ["AWS/Lambda", "Errors", "FunctionName", f.name]],
          [for f in values(var.functions) : ["AWS/Lambda", "Throttles", "FunctionName", f.name]],
        )
      }
    },
  ]
}

resource "aws_cloudwatch_dashboard" "pipeline" {
  dashboard_name = "${var.name_prefix}-pipeline"
  dashboard_body = jsonencode({ widgets = local.widgets })
}
