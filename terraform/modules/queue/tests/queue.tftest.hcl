# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:user/test", user_id = "AIDATEST" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
  }
}

override_resource {
  target          = aws_sqs_queue.this
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:imgpipe-test-large-images" }
}

override_resource {
  target          = aws_sqs_queue.dlq
  override_during = plan
  values          = { arn = "arn:aws:sqs:eu-west-1:123456789012:imgpipe-test-large-images-dlq" }
}

variables {
  name                       = "imgpipe-test-large-images"
  kms_key_arn                = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  retention_seconds          = 4 * 86400
  visibility_timeout_seconds = 300
}

run "both_queues_are_encrypted_with_the_key_and_keep_messages_no_longer_than_asked" {
  command = plan

  assert {
    condition     = aws_sqs_queue.this.kms_master_key_id == var.kms_key_arn && aws_sqs_queue.dlq.kms_master_key_id == var.kms_key_arn
    error_message = "Both queues must be encrypted with the environment's CMK."
  }

  assert {
    condition     = aws_sqs_queue.this.message_retention_seconds == 4 * 86400 && aws_sqs_queue.dlq.message_retention_seconds == 4 * 86400
    error_message = "Both queues must keep messages exactly retention_seconds."
  }

  assert {
    condition     = aws_sqs_queue.dlq.name == "imgpipe-test-large-images-dlq" && aws_sqs_queue.this.visibility_timeout_seconds == 300
    error_message = "The DLQ is <name>-dlq and the queue has the visibility timeout asked for."
  }
}

run "failures_go_to_the_dlq_which_only_this_queue_may_use" {
  command = plan

  assert {
    condition = jsondecode(aws_sqs_queue_redrive_policy.this.redrive_policy) == {
      deadLetterTargetArn = "arn:aws:sqs:eu-west-1:123456789012:imgpipe-test-large-images-dlq"
      maxReceiveCount     = 5
    }
    error_message = "The queue must dead-letter after 5 receives into its own DLQ."
  }

  assert {
    condition = jsondecode(aws_sqs_queue_redrive_allow_policy.dlq[0].redrive_allow_policy) == {
      redrivePermission = "byQueue"
      sourceQueueArns   = ["arn:aws:sqs:eu-west-1:123456789012:imgpipe-test-large-images"]
    }
    error_message = "Only this queue may use the DLQ."
  }
}

run "both_queues_refuse_plain_http_and_allow_nothing" {
  command = plan

  assert {
    condition = alltrue([
      for p in [aws_sqs_queue_policy.this.policy, aws_sqs_queue_policy.dlq.policy] : alltrue([
        for s in jsondecode(p).Statement : s.Effect == "Deny" && s.Condition.Bool["aws:SecureTransport"] == "false"
      ])
    ])
    error_message = "The queue policies may only deny plain HTTP: access is granted by IAM, in this account."
  }
}

run "a_retention_beyond_seven_days_is_refused" {
  command = plan

  variables {
    retention_seconds = 8 * 86400
  }

  expect_failures = [var.retention_seconds]
}

run "a_key_alias_is_refused" {
  command = plan

  variables {
    kms_key_arn = "alias/aws/sqs"
  }

  expect_failures = [var.kms_key_arn]
}
