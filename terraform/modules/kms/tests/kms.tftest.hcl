# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
      user_id    = "AIDATESTUSER"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
}

variables {
  name_prefix = "imgpipe-test"
}

run "key_rotation_alias_and_defaults" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation
    error_message = "Key rotation must be enabled."
  }

  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 30
    error_message = "The default deletion window must be 30 days."
  }

  assert {
    condition     = aws_kms_key.this.key_usage == "ENCRYPT_DECRYPT" && aws_kms_key.this.customer_master_key_spec == "SYMMETRIC_DEFAULT"
    error_message = "The key must be a symmetric encryption key (required by S3, SQS, DynamoDB, Logs)."
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/imgpipe-test" && output.alias_name == "alias/imgpipe-test"
    error_message = "The alias must be alias/<name_prefix>."
  }
}

run "key_policy_is_scoped_to_the_account" {
  command = plan

  variables {
    additional_via_services = ["lambda"]
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this.policy).Statement :
      try(s.Principal.AWS, "arn:aws:iam::123456789012:root") == "arn:aws:iam::123456789012:root"
    ])
    error_message = "Every AWS principal in the key policy must be this account's root (delegation to IAM), never '*' or another account."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Action
      if s.Sid == "EnableAccountRootAdministration"
    ]) == "kms:*"
    error_message = "The account root must administer the key."
  }

  assert {
    condition = alltrue([
      for svc in ["s3", "dynamodb", "sqs", "logs", "secretsmanager", "lambda"] :
      contains(one([
        for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.StringEquals["kms:ViaService"]
        if s.Sid == "AllowUseThroughAccountServices"
      ]), "${svc}.us-east-1.amazonaws.com")
    ])
    error_message = "Use through S3, DynamoDB, SQS, Logs, Secrets Manager (+ additional services) must be allowed via kms:ViaService."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.StringEquals["kms:CallerAccount"]
      if s.Sid == "AllowUseThroughAccountServices"
    ]) == "123456789012"
    error_message = "Use through services must be limited to callers of this account."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s
      if s.Sid == "AllowS3EventNotificationsToEncryptedQueues"
      ]) == {
      Sid       = "AllowS3EventNotificationsToEncryptedQueues"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }
    error_message = "The S3 service principal needs GenerateDataKey*/Decrypt, limited by aws:SourceAccount, to deliver events to the encrypted queue."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.ArnLike["kms:EncryptionContext:aws:logs:arn"]
      if try(s.Principal.Service, "") == "logs.us-east-1.amazonaws.com"
    ]) == "arn:aws:logs:us-east-1:123456789012:log-group:*"
    error_message = "CloudWatch Logs must be limited to this account's log groups via the encryption context."
  }
}

run "deletion_window_is_configurable" {
  command = plan

  variables {
    deletion_window_in_days = 7
  }

  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 7
    error_message = "deletion_window_in_days must reach the key."
  }
}

run "rejects_deletion_window_below_7" {
  command = plan

  variables {
    deletion_window_in_days = 6
  }

  expect_failures = [var.deletion_window_in_days]
}

run "rejects_deletion_window_above_30" {
  command = plan

  variables {
    deletion_window_in_days = 31
  }

  expect_failures = [var.deletion_window_in_days]
}

run "rejects_malformed_name_prefix" {
  command = plan

  variables {
    name_prefix = "Bad_Name"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_name_prefix_ending_with_hyphen" {
  command = plan

  variables {
    name_prefix = "imgpipe-"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_bad_additional_service" {
  command = plan

  variables {
    additional_via_services = ["lambda.us-east-1.amazonaws.com"]
  }

  expect_failures = [var.additional_via_services]
}

run "only_the_named_trail_may_encrypt_with_the_key_and_it_may_not_decrypt" {
  command = plan

  variables {
    cloudtrail_trail_name = "imgpipe-test"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this.policy).Statement :
      s.Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/imgpipe-test" &&
      !contains(flatten([s.Action]), "kms:Decrypt")
      if try(s.Principal.Service, "") == "cloudtrail.amazonaws.com"
    ]) && length([for s in jsondecode(aws_kms_key.this.policy).Statement : s if try(s.Principal.Service, "") == "cloudtrail.amazonaws.com"]) == 2
    error_message = "CloudTrail gets data keys and DescribeKey for the named trail only, and no Decrypt."
  }
}

run "no_trail_no_cloudtrail_statement" {
  command = plan

  assert {
    condition     = length([for s in jsondecode(aws_kms_key.this.policy).Statement : s if try(s.Principal.Service, "") == "cloudtrail.amazonaws.com"]) == 0
    error_message = "Without a trail the key policy names no CloudTrail principal."
  }
}

run "cloudwatch_may_use_the_key_for_this_environments_alarms_only" {
  command = plan

  variables {
    alarm_name_prefix = "imgpipe-test-"
  }

  # The alarm topic is encrypted with this key: without this statement every alarm notifies nobody.
  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s
      if try(s.Principal.Service, "") == "cloudwatch.amazonaws.com"
      ]) == {
      Sid       = "AllowCloudWatchAlarmsToPublishToEncryptedTopics"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.amazonaws.com" }
      Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = "123456789012" }
        ArnLike      = { "aws:SourceArn" = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:imgpipe-test-*" }
      }
    }
    error_message = "CloudWatch must get data keys for this account's alarms of this environment, and nothing more."
  }
}

run "no_cloudwatch_statement_without_alarms" {
  command = plan

  assert {
    condition     = length([for s in jsondecode(aws_kms_key.this.policy).Statement : s if try(s.Principal.Service, "") == "cloudwatch.amazonaws.com"]) == 0
    error_message = "Without alarm_name_prefix the key must not trust CloudWatch."
  }
}

run "rejects_an_alarm_prefix_with_a_wildcard" {
  command = plan

  variables {
    alarm_name_prefix = "imgpipe-*"
  }

  expect_failures = [var.alarm_name_prefix]
}
