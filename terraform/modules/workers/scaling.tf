# Target tracking on the backlog each task holds: visible messages ÷ running tasks, kept at
# acceptable_latency_seconds ÷ seconds_per_image. With no task running the backlog itself is the metric (IF
# below), so a queue that fills scales the service up from zero; an empty queue scales it back to min_tasks.

resource "aws_appautoscaling_target" "workers" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.workers.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "backlog_per_task" {
  name               = "${var.name_prefix}-workers-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.workers.service_namespace
  resource_id        = aws_appautoscaling_target.workers.resource_id
  scalable_dimension = aws_appautoscaling_target.workers.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = local.target_backlog_per_task
    scale_out_cooldown = 60
    scale_in_cooldown  = 300 # an interrupted image costs more than a few idle minutes

    customized_metric_specification {
      metrics {
        id = "visible"
        metric_stat {
          metric {
            namespace   = "AWS/SQS"
            metric_name = "ApproximateNumberOfMessagesVisible"
            dimensions {
              name  = "QueueName"
              value = var.queue_name
            }
          }
          stat = "Sum"
        }
        return_data = false
      }
      metrics {
        id = "running"
        metric_stat {
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.workers.name
            }
          }
          stat = "Average"
        }
        return_data = false
      }
      metrics {
        id          = "backlog_per_task"
        expression  = "IF(running > 0, visible / running, visible)"
        label       = "Visible messages per running task"
        return_data = true
      }
    }
  }
}

# A queue's age and dead-letter alarms belong to its owner: modules/processing alarms on the raw-events queue
# (containers mode; a second alarm on the same metric would only page twice), these on the split mode's queue.
resource "aws_cloudwatch_metric_alarm" "backlog_age" {
  count = var.dlq_name == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-workers-backlog-age"
  alarm_description   = "The oldest message in ${var.queue_name} has waited over ${var.backlog_age_alarm_seconds}s: the workers are stalled (task failures, image pull, capacity) or max_tasks is too low."
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
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  count = var.dlq_name == null ? 0 : 1

  alarm_name          = "${var.name_prefix}-workers-dlq-not-empty"
  alarm_description   = "Large-image messages failed the workers repeatedly and were dead-lettered: inspect ${var.dlq_name}, fix, then redrive."
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
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "at_max_tasks" {
  alarm_name          = "${var.name_prefix}-workers-at-max-tasks"
  alarm_description   = "The service has run at max_tasks for 15 minutes: the backlog grows faster than the bound allows."
  namespace           = "ECS/ContainerInsights"
  metric_name         = "RunningTaskCount"
  dimensions          = { ClusterName = aws_ecs_cluster.this.name, ServiceName = aws_ecs_service.workers.name }
  statistic           = "Minimum"
  period              = 300
  evaluation_periods  = 3
  threshold           = var.max_tasks
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}

# Spot interruptions and failed tasks, as ECS reports them, to the alarm topic.
resource "aws_cloudwatch_event_rule" "task_stopped" {
  name        = "${var.name_prefix}-workers-task-stopped"
  description = "A worker task stopped by a Spot interruption or a failure (not by scaling in)"
  event_pattern = jsonencode({
    source      = ["aws.ecs"]
    detail-type = ["ECS Task State Change"]
    detail = {
      clusterArn = [aws_ecs_cluster.this.arn]
      lastStatus = ["STOPPED"]
      stopCode   = ["SpotInterruption", "TaskFailedToStart", "EssentialContainerExited"]
    }
  })
  tags = var.tags
}

resource "aws_cloudwatch_event_target" "task_stopped" {
  # count, not for_each: the topic is often created in the same apply, its ARN unknown at plan.
  count = length(var.alarm_actions)

  rule = aws_cloudwatch_event_rule.task_stopped.name
  arn  = var.alarm_actions[count.index]
}
