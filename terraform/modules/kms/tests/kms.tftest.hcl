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
    additional_via_services = ["kafka"]
    user_role_arns          = ["arn:aws:iam::123456789012:role/imgpipe-test-image_processor"]
    deployer_role_arns      = ["arn:aws:iam::123456789012:role/imgpipe-test-cicd-apply"]
    break_glass_role_arn    = "arn:aws:iam::123456789012:role/incident-response"
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_kms_key.this.policy).Statement :
      try(s.Principal.AWS, "arn:aws:iam::123456789012:root") == "arn:aws:iam::123456789012:root"
    ])
    error_message = "Every AWS principal in the key policy must be this account's root (delegation to IAM), never '*' or another account."
  }

  # The account administers the key but cannot use it: no use action, no grant (a grant is use in disguise), no kms:*.
  assert {
    condition = length(setintersection(
      toset(one([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Action if s.Sid == "KeyAdministrationThroughIam"])),
      toset(["kms:*", "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant"])
    )) == 0 && contains(one([for s in jsondecode(aws_kms_key.this.policy).Statement : s.Action if s.Sid == "KeyAdministrationThroughIam"]), "kms:PutKeyPolicy")
    error_message = "The root statement must administer the key (PutKeyPolicy…) and grant no use of it."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition
      if s.Sid == "UseByThePipelinesRolesThroughItsServices"
      ]) == {
      StringEquals = {
        "kms:CallerAccount" = "123456789012"
        "kms:ViaService" = [for svc in ["s3", "dynamodb", "sqs", "sns", "logs", "secretsmanager", "lambda", "kafka"] :
        "${svc}.us-east-1.amazonaws.com"]
      }
      ArnEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/imgpipe-test-image_processor", "arn:aws:iam::123456789012:role/incident-response"] }
    }
    error_message = "Use is for the named roles (and break-glass) only, from this account, through the pipeline's services only."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition
      if s.Sid == "DeployersCreateWhatTheKeyEncrypts"
      ]) == {
      StringEquals = {
        "kms:CallerAccount" = "123456789012"
        "kms:ViaService"    = [for svc in ["dynamodb", "kafka", "lambda", "secretsmanager"] : "${svc}.us-east-1.amazonaws.com"]
      }
      ArnEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/imgpipe-test-cicd-apply", "arn:aws:iam::123456789012:role/incident-response"] }
    }
    error_message = "Deployers use the key only through Lambda, DynamoDB, MSK and Secrets Manager: never S3, SQS or SNS."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s.Condition.Bool["kms:GrantIsForAWSResource"]
      if s.Sid == "GrantsForAwsResourcesOnly"
    ]) == "true"
    error_message = "Grants only for AWS resources (DynamoDB, Lambda, MSK)."
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

run "without_named_roles_nobody_of_the_account_uses_the_key" {
  command = plan

  assert {
    condition = length([
      for s in jsondecode(aws_kms_key.this.policy).Statement : s
      if try(s.Principal.AWS, "") != "" && s.Sid != "KeyAdministrationThroughIam"
    ]) == 0
    error_message = "With no user, deployer or break-glass role, only administration is delegated to the account."
  }
}

run "rejects_a_user_that_is_not_a_role" {
  command = plan

  variables {
    user_role_arns = ["arn:aws:iam::123456789012:user/someone"]
  }

  expect_failures = [var.user_role_arns]
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

run "the_cursor_mac_key_signs_for_the_named_roles_only" {
  command = plan

  variables {
    mac_user_role_arns = ["arn:aws:iam::123456789012:role/imgpipe-test-upload_api"]
  }

  assert {
    condition     = aws_kms_key.mac.key_usage == "GENERATE_VERIFY_MAC" && aws_kms_key.mac.customer_master_key_spec == "HMAC_256" && aws_kms_alias.mac.name == "alias/imgpipe-test-cursors"
    error_message = "The cursor key is an HMAC_256 key for GenerateMac/VerifyMac, aliased <name_prefix>-cursors."
  }

  assert {
    condition = [for s in jsondecode(aws_kms_key.mac.policy).Statement : s.Sid] == ["KeyAdministrationThroughIam", "SignAndVerifyForTheNamedRoles"] && one([
      for s in jsondecode(aws_kms_key.mac.policy).Statement : s.Condition.ArnEquals["aws:PrincipalArn"] if s.Sid == "SignAndVerifyForTheNamedRoles"
    ]) == ["arn:aws:iam::123456789012:role/imgpipe-test-upload_api"]
    error_message = "Only the named roles sign and verify; the account administers the key and cannot use it."
  }
}
