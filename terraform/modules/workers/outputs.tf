output "cluster_name" {
  description = "The workers' ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "The workers' ECS service."
  value       = aws_ecs_service.workers.name
}

output "task_role_arn" {
  description = "The task role (the processor's grants)."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "The execution role (image pull, log stream)."
  value       = aws_iam_role.execution.arn
}

output "target_backlog_per_task" {
  description = "The scaling policy's target: acceptable_latency_seconds ÷ seconds_per_image, at least 1."
  value       = local.target_backlog_per_task
}

output "log_group_name" {
  description = "The workers' log group."
  value       = aws_cloudwatch_log_group.workers.name
}

output "queue_alarms" {
  description = "The queues these workers own with the alarm that watches each (empty when the queue's owner alarms on it)."
  value = var.dlq_name == null ? {} : {
    (var.queue_name) = aws_cloudwatch_metric_alarm.backlog_age[0].alarm_name
    (var.dlq_name)   = aws_cloudwatch_metric_alarm.dlq_not_empty[0].alarm_name
  }
}

output "task_definition" {
  description = "The workers' task definition (what the local stack runs as processes, and what tests read)."
  value       = aws_ecs_task_definition.worker
}

output "queue_url" {
  description = "The queue the workers consume."
  value       = var.queue_url
}
