# One customer-managed key per environment. Every store that holds image-derived data (S3 buckets, SQS
# queues, DynamoDB table, log groups, secrets) is encrypted with it, so disabling or scheduling deletion
# of this key is a kill switch for the environment's data.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  account_root = "arn:${local.partition}:iam::${local.account_id}:root"

  # Services that may use the key on behalf of principals of this account.
  via_services = distinct(concat(
    ["s3", "dynamodb", "sqs", "logs", "secretsmanager"],
    var.additional_via_services,
  ))

  key_policy = {
    Version = "2012-10-17"
    Statement = [
      {
        # Administration is delegated to IAM in this account (the AWS default key policy statement). Without it
        # the key could become unmanageable. Data-plane use is restricted by the statements below and by IAM.
        Sid       = "EnableAccountRootAdministration"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # Principals of this account, through the listed services only.
        Sid       = "AllowUseThroughAccountServices"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action = [
          "kms:Encrypt",
          "kms:Decrypt",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:DescribeKey",
        ]
        Resource = "*"
        Condition = {
          StringEquals = {
            "kms:CallerAccount" = local.account_id
            "kms:ViaService"    = [for s in local.via_services : "${s}.${local.region}.${local.dns_suffix}"]
          }
        }
      },
      {
        # DynamoDB (and other services) create grants for the resources they encrypt.
        Sid       = "AllowGrantsForAwsResourcesThroughAccountServices"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        Resource  = "*"
        Condition = {
          StringEquals = {
            "kms:CallerAccount" = local.account_id
            "kms:ViaService"    = [for s in local.via_services : "${s}.${local.region}.${local.dns_suffix}"]
          }
          Bool = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
      {
        # S3 event notifications are sent by the S3 service principal itself (not via a caller), so delivering
        # to a queue encrypted with this key needs a service-principal grant. Limited to buckets of this account.
        Sid       = "AllowS3EventNotificationsToEncryptedQueues"
        Effect    = "Allow"
        Principal = { Service = "s3.${local.dns_suffix}" }
        Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
        }
      },
      {
        # CloudWatch Logs encrypts log groups with the key; only for log groups of this account and region.
        Sid       = "AllowCloudWatchLogsForAccountLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.${local.dns_suffix}" }
        Action = [
          "kms:Encrypt*",
          "kms:Decrypt*",
          "kms:ReEncrypt*",
          "kms:GenerateDataKey*",
          "kms:Describe*",
        ]
        Resource = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:*"
          }
        }
      },
    ]
  }

  # CloudTrail encrypts its log files with the key; only the named trail of this account, and it may decrypt
  # nothing (readers decrypt through S3, above).
  trail_arn = var.cloudtrail_trail_name == null ? null : "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${var.cloudtrail_trail_name}"
  cloudtrail_statements = var.cloudtrail_trail_name == null ? [] : [
    {
      Sid       = "AllowCloudTrailToEncryptItsLogs"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.${local.dns_suffix}" }
      Action    = "kms:GenerateDataKey*"
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceArn" = local.trail_arn }
        StringLike   = { "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:${local.partition}:cloudtrail:*:${local.account_id}:trail/*" }
      }
    },
    {
      Sid       = "AllowCloudTrailToDescribeTheKey"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.${local.dns_suffix}" }
      Action    = "kms:DescribeKey"
      Resource  = "*"
      Condition = { StringEquals = { "aws:SourceArn" = local.trail_arn } }
    },
  ]
  # CloudWatch publishes alarm notifications to the encrypted alarm topic itself (not on behalf of a caller): it
  # needs data keys from this key, for this account's alarms of this environment only. Without this statement
  # every alarm changes state and notifies nobody (SNS drops what it cannot encrypt).
  alarm_statements = var.alarm_name_prefix == null ? [] : [
    {
      Sid       = "AllowCloudWatchAlarmsToPublishToEncryptedTopics"
      Effect    = "Allow"
      Principal = { Service = "cloudwatch.${local.dns_suffix}" }
      Action    = ["kms:GenerateDataKey*", "kms:Decrypt"]
      Resource  = "*"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.alarm_name_prefix}*" }
      }
    },
  ]
  policy_document = merge(local.key_policy, {
    Statement = concat(local.key_policy.Statement, local.cloudtrail_statements, local.alarm_statements)
  })
}

resource "aws_kms_key" "this" {
  description              = "${var.name_prefix}: encrypts image data, metadata, queues, logs and secrets"
  key_usage                = "ENCRYPT_DECRYPT"
  customer_master_key_spec = "SYMMETRIC_DEFAULT"
  enable_key_rotation      = true
  deletion_window_in_days  = var.deletion_window_in_days
  is_enabled               = true
  multi_region             = false
  policy                   = jsonencode(local.policy_document)

  tags = merge(var.tags, { Name = var.name_prefix })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name_prefix}"
  target_key_id = aws_kms_key.this.key_id
}
