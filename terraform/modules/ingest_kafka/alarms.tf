################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "offset_lag" {
  alarm_name          = "${local.function_name}-offset-lag"
  alarm_description   = "${local.function_name} is more than ${var.offset_lag_alarm_threshold} records behind on ${var.kafka.topic}: ingestion is stalled or under-provisioned."
  namespace           = "AWS/Lambda"
  metric_name         = "OffsetLag"
  dimensions          = { FunctionName = local.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.offset_lag_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "rejects" {
  alarm_name          = "${var.name_prefix}-kafka-rejects-not-empty"
  alarm_description   = "Kafka records were rejected (reason and coordinates in ${aws_sqs_queue.rejects.name}) or given up after retries."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.rejects.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
