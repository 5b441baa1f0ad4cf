output "function_name" {
  description = "Name of the kafka_ingest function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the kafka_ingest function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "event_source" {
  description = "What the function consumes, as declared: the local Kafka event source (scripts/local_kafka.py) runs exactly this when create_event_source_mapping is off."
  value = {
    type                    = var.kafka.type
    bootstrap_servers       = var.kafka.bootstrap_servers
    cluster_arn             = local.cluster_arn
    topic                   = var.kafka.topic
    consumer_group_id       = var.kafka.consumer_group_id
    batch_size              = var.batch_size
    batching_window_seconds = var.batching_window_seconds
    starting_position       = var.starting_position
    function_name           = aws_lambda_function.this.function_name
    on_failure_queue_url    = aws_sqs_queue.rejects.url
    mapping_created         = var.create_event_source_mapping
  }
}

output "rejects_queue_url" {
  description = "URL of the queue that receives rejected records (reason + coordinates) and given-up records."
  value       = aws_sqs_queue.rejects.url
}

output "rejects_queue_arn" {
  description = "ARN of the rejects queue."
  value       = aws_sqs_queue.rejects.arn
}

output "idempotency_table_name" {
  description = "The function's idempotency table (one record per dedup key, expiring with the retention window)."
  value       = aws_dynamodb_table.idempotency.name
}

output "alarm_names" {
  description = "Alarms of the Kafka path: offset lag, rejects queue not empty."
  value       = [aws_cloudwatch_metric_alarm.offset_lag.alarm_name, aws_cloudwatch_metric_alarm.rejects.alarm_name]
}

output "msk_cluster_arn" {
  description = "ARN of the MSK cluster this module created (new_msk_cluster), or null."
  value       = try(aws_msk_cluster.this[0].arn, null)
}

output "msk_bootstrap_brokers_iam" {
  description = "Bootstrap brokers (IAM over TLS) of the created cluster, for producers; null without new_msk_cluster."
  value       = try(aws_msk_cluster.this[0].bootstrap_brokers_sasl_iam, null)
}

output "vpc_endpoint_ids" {
  description = "Interface endpoints created for the event source's pollers, by service (sts, lambda, secretsmanager)."
  value       = { for service, endpoint in aws_vpc_endpoint.pollers : service => endpoint.id }
}

output "timeout_seconds" {
  description = "The function's timeout (the observability module alarms on a p99 duration near it)."
  value       = aws_lambda_function.this.timeout
}


output "scram_secret_arn" {
  description = "The SCRAM secret the event source reads (the caller's, or the one made here), or null without SCRAM."
  value       = local.is_scram ? local.scram_secret : null
}

output "queue_alarms" {
  description = "Each queue of this module with the alarm that watches its depth."
  value       = { (aws_sqs_queue.rejects.name) = aws_cloudwatch_metric_alarm.rejects.alarm_name }
}
