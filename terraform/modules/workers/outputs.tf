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
