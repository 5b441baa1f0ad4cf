output "arn" {
  description = "The queue's ARN."
  value       = aws_sqs_queue.this.arn
}

output "url" {
  description = "The queue's URL."
  value       = aws_sqs_queue.this.url
}

output "name" {
  description = "The queue's name (its CloudWatch metrics' dimension)."
  value       = aws_sqs_queue.this.name
}

output "visibility_timeout_seconds" {
  description = "The queue's visibility timeout."
  value       = aws_sqs_queue.this.visibility_timeout_seconds
}

output "dlq_arn" {
  description = "The dead-letter queue's ARN."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "The dead-letter queue's URL."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_name" {
  description = "The dead-letter queue's name."
  value       = aws_sqs_queue.dlq.name
}

output "queue" {
  description = "The queue resource (what the caller's tests assert: encryption, retention, visibility)."
  value       = aws_sqs_queue.this
}

output "dlq" {
  description = "The dead-letter queue resource."
  value       = aws_sqs_queue.dlq
}

output "redrive_policy" {
  description = "The queue's redrive policy (JSON)."
  value       = aws_sqs_queue_redrive_policy.this.redrive_policy
}

output "dlq_redrive_allow_policy_enabled" {
  description = "Whether the DLQ admits redrives from this queue only."
  value       = length(aws_sqs_queue_redrive_allow_policy.dlq) == 1
}

output "policies" {
  description = "The resource policies (JSON) of the queue and of its DLQ."
  value       = { queue = aws_sqs_queue_policy.this.policy, dlq = aws_sqs_queue_policy.dlq.policy }
}
