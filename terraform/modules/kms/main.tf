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

  # Services through which the pipeline's roles use the key (kms:ViaService <service>.<region>.<dns suffix>).
  via_services = distinct(concat(
    ["s3", "dynamodb", "sqs", "sns", "logs", "secretsmanager", "lambda"],
    var.additional_via_services,
  ))
  via = [for s in local.via_services : "${s}.${local.region}.${local.dns_suffix}"]
  # Deployers create what the key encrypts (Lambda environments, tables, secret values, an MSK cluster's
  # storage); they never reach data through S3, SQS or SNS.
  deploy_via = [for s in setintersection(local.via_services, ["lambda", "secretsmanager", "dynamodb", "kafka"]) : "${s}.${local.region}.${local.dns_suffix}"]

  users     = distinct(compact(concat(var.user_role_arns, [var.break_glass_role_arn])))
  mac_users = distinct(compact(var.mac_user_role_arns))
  deployers = distinct(compact(concat(var.deployer_role_arns, [var.break_glass_role_arn])))

  use_actions = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]

  # AWS's recommended shape: the account (IAM) administers the key but cannot use it; use is granted to named
  # principals, through the pipeline's services, and to the AWS services that encrypt on their own behalf.
  # Key administration deliberately excludes kms:CreateGrant: a grant is use in disguise.
  administration = {
    Sid       = "KeyAdministrationThroughIam"
    Effect    = "Allow"
    Principal = { AWS = local.account_root }
    Action = [
      "kms:CancelKeyDeletion", "kms:CreateAlias", "kms:DeleteAlias", "kms:DescribeKey", "kms:DisableKey",
      "kms:DisableKeyRotation", "kms:EnableKey", "kms:EnableKeyRotation", "kms:GetKeyPolicy",
      "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListGrants", "kms:ListKeyPolicies",
      "kms:ListKeyRotations", "kms:ListResourceTags", "kms:PutKeyPolicy", "kms:RetireGrant", "kms:RevokeGrant",
      "kms:RotateKeyOnDemand", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
      "kms:UpdateAlias", "kms:UpdateKeyDescription",
    ]
    Resource = "*"
  }

  key_policy = {
    Version = "2012-10-17"
    Statement = concat([
      local.administration,
      ], length(local.users) == 0 ? [] : [
      {
        # The pipeline's own roles (and the break-glass role), through the pipeline's services only; IAM must
        # allow them too (the principal is the account).
        Sid       = "UseByThePipelinesRolesThroughItsServices"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = local.use_actions
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:CallerAccount" = local.account_id, "kms:ViaService" = local.via }
          ArnEquals    = { "aws:PrincipalArn" = local.users }
        }
      },
      ], length(local.deployers) == 0 ? [] : [
      {
        Sid       = "DeployersCreateWhatTheKeyEncrypts"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = local.use_actions
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:CallerAccount" = local.account_id, "kms:ViaService" = local.deploy_via }
          ArnEquals    = { "aws:PrincipalArn" = local.deployers }
        }
      },
      ], length(concat(local.users, local.deployers)) == 0 ? [] : [
      {
        # DynamoDB, Lambda and MSK hold grants for the resources they encrypt, made by whoever creates or uses them.
        Sid       = "GrantsForAwsResourcesOnly"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"]
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:CallerAccount" = local.account_id, "kms:ViaService" = local.via }
          ArnEquals    = { "aws:PrincipalArn" = distinct(concat(local.users, local.deployers)) }
          Bool         = { "kms:GrantIsForAWSResource" = "true" }
        }
      },
      ], [
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
    ])
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

# The API's pagination cursors are signed with an HMAC key that never leaves KMS: no secret in code, state or the
# functions' environment, and only the named roles may sign or verify (imgpipe.cursors, docs/api.md).
resource "aws_kms_key" "mac" {
  #checkov:skip=CKV_AWS_7:AWS does not rotate HMAC keys automatically; a cursor lives an hour, so replacing the key (a new alias target) invalidates nothing that matters.
  description              = "${var.name_prefix}: signs and verifies the API's pagination cursors (HMAC)"
  key_usage                = "GENERATE_VERIFY_MAC"
  customer_master_key_spec = "HMAC_256"
  enable_key_rotation      = false
  deletion_window_in_days  = var.deletion_window_in_days
  is_enabled               = true
  multi_region             = false
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([local.administration], length(local.mac_users) == 0 ? [] : [
      {
        Sid       = "SignAndVerifyForTheNamedRoles"
        Effect    = "Allow"
        Principal = { AWS = local.account_root }
        Action    = ["kms:GenerateMac", "kms:VerifyMac"]
        Resource  = "*"
        Condition = {
          StringEquals = { "kms:CallerAccount" = local.account_id }
          ArnEquals    = { "aws:PrincipalArn" = local.mac_users }
        }
      },
    ])
  })

  tags = merge(var.tags, { Name = "${var.name_prefix}-cursors" })
}

resource "aws_kms_alias" "mac" {
  name          = "alias/${var.name_prefix}-cursors"
  target_key_id = aws_kms_key.mac.key_id
}
