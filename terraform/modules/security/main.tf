# Account-level security services for the pipeline: a CloudTrail trail (management events, S3 data events on
# the image buckets, Lambda invocations of the pipeline's functions), GuardDuty (a detector with S3 protection,
# and Malware Protection for S3 scanning new raw objects and tagging them with its verdict, which the processor
# enforces), and IAM Access Analyzer. Organisations that already run an organisation trail, a delegated GuardDuty
# administrator or an organisation analyzer turn the matching create_* off and keep theirs.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  trail_name = var.name_prefix

  # GuardDuty creates and owns this EventBridge rule for the plan; the role may manage only that rule.
  malware_rule_arn = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/DO-NOT-DELETE-AmazonGuardDutyMalwareProtectionS3*"
  scanned          = var.malware_protection
  scanned_objects = local.scanned == null ? [] : [
    for prefix in local.scanned.object_prefixes : "${local.scanned.bucket_arn}/${prefix}*"
  ]
}

################################################################################
# CloudTrail
################################################################################

resource "aws_cloudtrail" "this" {
  count = var.create_trail ? 1 : 0

  #checkov:skip=CKV2_AWS_10:A CloudWatch Logs copy of the trail would be one more store of S3 data events (image keys) to bound; the trail's S3 files have digest validation, and GuardDuty analyses the management events.
  #checkov:skip=CKV_AWS_252:No SNS notification per log file: nothing consumes it; alarms come from the observability module.
  name                          = local.trail_name
  s3_bucket_name                = var.trail_bucket_name
  is_multi_region_trail         = true
  include_global_service_events = true
  enable_log_file_validation    = true
  enable_logging                = true
  kms_key_id                    = var.kms_key_arn

  advanced_event_selector {
    name = "Management events"
    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
  }

  dynamic "advanced_event_selector" {
    for_each = length(var.s3_data_event_bucket_arns) > 0 ? [1] : []
    content {
      name = "Object-level access to the pipeline's buckets"
      field_selector {
        field  = "eventCategory"
        equals = ["Data"]
      }
      field_selector {
        field  = "resources.type"
        equals = ["AWS::S3::Object"]
      }
      field_selector {
        field       = "resources.ARN"
        starts_with = [for arn in var.s3_data_event_bucket_arns : "${arn}/"]
      }
    }
  }

  dynamic "advanced_event_selector" {
    for_each = length(var.lambda_data_event_function_arns) > 0 ? [1] : []
    content {
      name = "Invocations of the pipeline's functions"
      field_selector {
        field  = "eventCategory"
        equals = ["Data"]
      }
      field_selector {
        field  = "resources.type"
        equals = ["AWS::Lambda::Function"]
      }
      # StartsWith: the function and each of its qualifiers (the triggers invoke the `live` alias).
      field_selector {
        field       = "resources.ARN"
        starts_with = var.lambda_data_event_function_arns
      }
    }
  }

  tags = merge(var.tags, { Name = local.trail_name })
}

################################################################################
# GuardDuty
################################################################################

resource "aws_guardduty_detector" "this" {
  count = var.create_guardduty_detector ? 1 : 0

  #checkov:skip=CKV2_AWS_3:Organisation-wide enablement (aws_guardduty_organization_configuration) runs only in the delegated administrator account; this detector covers this account and region, and create_guardduty_detector = false defers to the organisation's.
  enable                       = true
  finding_publishing_frequency = "FIFTEEN_MINUTES"

  tags = merge(var.tags, { Name = var.name_prefix })
}

resource "aws_guardduty_detector_feature" "s3_data_events" {
  count = var.create_guardduty_detector ? 1 : 0

  detector_id = aws_guardduty_detector.this[0].id
  name        = "S3_DATA_EVENTS"
  status      = "ENABLED"
}

resource "aws_iam_role" "malware_protection" {
  count = local.scanned == null ? 0 : 1

  name        = "${var.name_prefix}-malware-protection"
  description = "GuardDuty Malware Protection for S3: scan and tag new objects under ${join(", ", local.scanned.object_prefixes)} in ${local.scanned.bucket_name}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "malware-protection-plan.guardduty.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "malware_protection" {
  count = local.scanned == null ? 0 : 1

  name = "scan-and-tag"
  role = aws_iam_role.malware_protection[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "ManageItsEventBridgeRule"
        Effect    = "Allow"
        Action    = ["events:PutRule", "events:DeleteRule", "events:PutTargets", "events:RemoveTargets"]
        Resource  = local.malware_rule_arn
        Condition = { StringLike = { "events:ManagedBy" = "malware-protection-plan.guardduty.${local.dns_suffix}" } }
      },
      {
        Sid      = "WatchItsEventBridgeRule"
        Effect   = "Allow"
        Action   = ["events:DescribeRule", "events:ListTargetsByRule"]
        Resource = local.malware_rule_arn
      },
      {
        Sid      = "EnableEventBridgeNotifications"
        Effect   = "Allow"
        Action   = ["s3:PutBucketNotification", "s3:GetBucketNotification", "s3:ListBucket"]
        Resource = local.scanned.bucket_arn
      },
      {
        # The plan proves it can write to the bucket with this one object.
        Sid      = "PutTheValidationObject"
        Effect   = "Allow"
        Action   = "s3:PutObject"
        Resource = "${local.scanned.bucket_arn}/malware-protection-resource-validation-object"
      },
      {
        Sid    = "ScanAndTagTheProtectedPrefixes"
        Effect = "Allow"
        Action = [
          "s3:GetObject", "s3:GetObjectVersion",
          "s3:GetObjectTagging", "s3:PutObjectTagging", "s3:GetObjectVersionTagging", "s3:PutObjectVersionTagging",
        ]
        Resource = local.scanned_objects
      },
      {
        Sid       = "DecryptThroughS3Only"
        Effect    = "Allow"
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = var.kms_key_arn
        Condition = { StringLike = { "kms:ViaService" = "s3.*.${local.dns_suffix}" } }
      },
    ]
  })
}

resource "aws_guardduty_malware_protection_plan" "raw" {
  count = local.scanned == null ? 0 : 1

  role = aws_iam_role.malware_protection[0].arn

  protected_resource {
    s3_bucket {
      bucket_name     = local.scanned.bucket_name
      object_prefixes = local.scanned.object_prefixes
    }
  }

  # The verdict as the object's GuardDutyMalwareScanStatus tag: what the processor reads.
  actions {
    tagging {
      status = "ENABLED"
    }
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.malware_protection]
}

################################################################################
# IAM Access Analyzer
################################################################################

resource "aws_accessanalyzer_analyzer" "this" {
  count = var.create_access_analyzer ? 1 : 0

  analyzer_name = "${var.name_prefix}-external-access"
  type          = "ACCOUNT"

  tags = var.tags
}
