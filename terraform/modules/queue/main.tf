# A work queue and its dead-letter queue, as every imgpipe queue is: encrypted with the environment's key,
# messages kept no longer than the images they name, refusing plain HTTP, and a DLQ only this queue may use.
# Used for the raw-events queue (modules/storage, which lets S3 send to it) and the split mode's large-image queue.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  dlq_name = "${var.name}-dlq"
  # Known before apply, so the policies below plan without waiting for the queues.
  arn_prefix = "arn:${data.aws_partition.current.partition}:sqs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}"
  arns       = { queue = "${local.arn_prefix}:${var.name}", dlq = "${local.arn_prefix}:${local.dlq_name}" }

  # SQS endpoints accept plain HTTP too; emulators do not evaluate SQS resource policies.
  deny_insecure_transport = {
    for k, arn in local.arns : k => {
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }
  }
}

resource "aws_sqs_queue" "dlq" {
  name                              = local.dlq_name
  message_retention_seconds         = var.retention_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds

  tags = merge(var.tags, { Name = local.dlq_name })
}

resource "aws_sqs_queue" "this" {
  name                              = var.name
  message_retention_seconds         = var.retention_seconds
  visibility_timeout_seconds        = var.visibility_timeout_seconds
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds

  # Owned by aws_sqs_queue_redrive_policy: moto re-serialises the JSON, which every plan would read as a
  # whitespace change of the queue.
  lifecycle {
    ignore_changes = [redrive_policy]
  }

  tags = merge(var.tags, { Name = var.name })
}

resource "aws_sqs_queue_redrive_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = var.dlq_redrive_allow_policy_enabled ? 1 : 0

  queue_url = aws_sqs_queue.dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}

resource "aws_sqs_queue_policy" "this" {
  queue_url = aws_sqs_queue.this.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = concat([local.deny_insecure_transport["queue"]], var.policy_statements)
  })
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = jsonencode({ Version = "2012-10-17", Statement = [local.deny_insecure_transport["dlq"]] })
}
