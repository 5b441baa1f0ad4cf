"""Lambda event source mappings as the Lambda service runs them: SQS queues, Kafka topics, DynamoDB streams."""
