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
