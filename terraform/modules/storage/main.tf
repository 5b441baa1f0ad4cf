# Raw and processed image buckets plus the raw-events queue (S3 ObjectCreated -> SQS -> image processor).
# Every store here holds image-derived data, so all of them expire within var.retention_days and all of
# them are encrypted with the environment's customer-managed KMS key.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  suffix     = coalesce(var.bucket_name_suffix, local.account_id)

  buckets = merge(
    {
      raw       = "${var.name_prefix}-raw-${local.suffix}"
      processed = "${var.name_prefix}-processed-${local.suffix}"
    },
    { for k in var.extra_buckets : k => "${var.name_prefix}-${k}-${local.suffix}" },
  )
  # Built from the names (not from resource attributes) so policies are known at plan time.
  bucket_arns = { for k, name in local.buckets : k => "arn:${local.partition}:s3:::${name}" }

  retention_seconds = var.retention_days * 86400

  queue_name     = "${var.name_prefix}-raw-events"
  queue_arn      = "arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.queue_name}"
  raw_bucket_arn = local.bucket_arns["raw"]

  # CloudTrail delivers to one bucket only through its own statements (AWS's required pair), scoped to the trail.
  trail_arn        = var.cloudtrail_writer == null ? null : "arn:${local.partition}:cloudtrail:${local.region}:${local.account_id}:trail/${var.cloudtrail_writer.trail_name}"
  trail_bucket_key = try(var.cloudtrail_writer.bucket_key, "")
  cloudtrail_statements = [
    {
      Sid       = "AllowCloudTrailAclCheck"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.${data.aws_partition.current.dns_suffix}" }
      Action    = "s3:GetBucketAcl"
      Resource  = "arn:${local.partition}:s3:::${var.name_prefix}-${local.trail_bucket_key}-${local.suffix}"
      Condition = { StringEquals = { "aws:SourceArn" = local.trail_arn } }
    },
    {
      Sid       = "AllowCloudTrailWrite"
      Effect    = "Allow"
      Principal = { Service = "cloudtrail.${data.aws_partition.current.dns_suffix}" }
      Action    = "s3:PutObject"
      Resource  = "arn:${local.partition}:s3:::${var.name_prefix}-${local.trail_bucket_key}-${local.suffix}/AWSLogs/${local.account_id}/*"
      Condition = {
        StringEquals = { "aws:SourceArn" = local.trail_arn, "s3:x-amz-acl" = "bucket-owner-full-control" }
      }
    },
  ]

  # The data perimeter: no role but those named for a bucket (and the break-glass role) reads, writes, deletes or
  # lists its objects, whatever IAM grants it — an account-wide power user included. AWS services acting on
  # their own behalf (CloudTrail delivering) carry aws:PrincipalIsAWSService = true and are left to the
  # statements that name them.
  perimeter = {
    for k in keys(local.bucket_arns) : k => distinct(compact(concat(
      lookup(var.object_access_role_arns, k, []), [var.break_glass_role_arn]
    )))
  }
  perimeter_actions = [
    "s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:ReplicateObject",
    "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
  ]

  bucket_policies = {
    for k, arn in local.bucket_arns : k => {
      Version = "2012-10-17"
      Statement = concat(slice(local.cloudtrail_statements, 0, k == local.trail_bucket_key ? 2 : 0), [
        {
          Sid       = "DenyDataAccessOutsideThePerimeter"
          Effect    = "Deny"
          Principal = "*"
          Action    = local.perimeter_actions
          Resource  = [arn, "${arn}/*"]
          Condition = merge(
            { BoolIfExists = { "aws:PrincipalIsAWSService" = "false" } },
            length(local.perimeter[k]) == 0 ? {} : { ArnNotEquals = { "aws:PrincipalArn" = local.perimeter[k] } },
          )
        },
        {
          Sid       = "DenyInsecureTransport"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [arn, "${arn}/*"]
          Condition = { Bool = { "aws:SecureTransport" = "false" } }
        },
        {
          Sid       = "DenyOutdatedTls"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:*"
          Resource  = [arn, "${arn}/*"]
          Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
        },
        {
          # An upload must ask for SSE-KMS by name: one asking for another encryption (e.g. AES256) or for none is
          # refused (AWS treats a negated operator on an absent key as true). Every writer here names it: the
          # functions (ObjectStore), the presigned POST's fields, Athena's enforced workgroup, CloudTrail.
          Sid       = "DenyNonKmsEncryption"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "${arn}/*"
          Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption" = "aws:kms" } }
        },
        {
          # A request that names a KMS key must name this environment's key (by ARN).
          Sid       = "DenyOtherKmsKey"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "${arn}/*"
          Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = var.kms_key_arn } }
        },
        {
          # "aws:kms" without a key id would make S3 use the AWS managed aws/s3 key instead of the CMK.
          Sid       = "DenyKmsWithoutKeyId"
          Effect    = "Deny"
          Principal = "*"
          Action    = "s3:PutObject"
          Resource  = "${arn}/*"
          Condition = {
            StringEquals = { "s3:x-amz-server-side-encryption" = "aws:kms" }
            Null         = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = "true" }
          }
        },
      ])
    }
  }

  # The raw-events queue's one grant: S3 notifications of the raw bucket, of this account (confused deputy).
  allow_raw_bucket_notifications = {
    Sid       = "AllowRawBucketNotifications"
    Effect    = "Allow"
    Principal = { Service = "s3.${data.aws_partition.current.dns_suffix}" }
    Action    = "sqs:SendMessage"
    Resource  = local.queue_arn
    Condition = {
      ArnEquals    = { "aws:SourceArn" = local.raw_bucket_arn }
      StringEquals = { "aws:SourceAccount" = local.account_id }
    }
  }
}

################################################################################
# Buckets
################################################################################

resource "aws_s3_bucket" "this" {
  for_each = local.buckets

  #checkov:skip=CKV_AWS_144:Cross-region replication would copy image data to a second region beyond the 7-day retention controls; durability comes from versioning and re-upload.
  #checkov:skip=CKV_AWS_18:Server access logs would hold object keys outside the retention window; the security module's CloudTrail trail records object-level access instead, within it.
  #checkov:skip=CKV2_AWS_62:Only the raw bucket has a consumer for events (raw-events queue, below); the processed bucket has none by design.
  bucket        = each.value
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = each.value, DataClass = "image-${each.key}" })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.bucket
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.bucket

  # Rules need versioning to be configured first (noncurrent-version actions).
  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    id     = "expire-after-retention"
    status = "Enabled"

    filter {}

    expiration {
      days = var.retention_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # A separate rule: S3 does not accept expired_object_delete_marker together with days in one expiration.
  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"

    filter {}

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = var.enforce_bucket_policy ? aws_s3_bucket.this : {}

  bucket = each.value.bucket
  policy = jsonencode(local.bucket_policies[each.key])

  # A bucket policy and the public access block are both bucket-level writes; S3 rejects concurrent ones.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# Raw-events queue (S3 ObjectCreated -> SQS) and its dead-letter queue
################################################################################

module "raw_events" {
  source = "../queue"

  name                              = local.queue_name
  kms_key_arn                       = var.kms_key_arn
  retention_seconds                 = local.retention_seconds
  visibility_timeout_seconds        = var.queue_visibility_timeout_seconds
  max_receive_count                 = var.max_receive_count
  kms_data_key_reuse_period_seconds = var.kms_data_key_reuse_period_seconds
  dlq_redrive_allow_policy_enabled  = var.dlq_redrive_allow_policy_enabled
  policy_statements                 = [local.allow_raw_bucket_notifications]
  tags                              = var.tags
}

# The queues were this module's own resources before modules/queue held them.
moved {
  from = aws_sqs_queue.raw_events
  to   = module.raw_events.aws_sqs_queue.this
}

moved {
  from = aws_sqs_queue.dlq
  to   = module.raw_events.aws_sqs_queue.dlq
}

moved {
  from = aws_sqs_queue_redrive_policy.raw_events
  to   = module.raw_events.aws_sqs_queue_redrive_policy.this
}

moved {
  from = aws_sqs_queue_redrive_allow_policy.dlq
  to   = module.raw_events.aws_sqs_queue_redrive_allow_policy.dlq
}

moved {
  from = aws_sqs_queue_policy.raw_events
  to   = module.raw_events.aws_sqs_queue_policy.this
}

moved {
  from = aws_sqs_queue_policy.dlq
  to   = module.raw_events.aws_sqs_queue_policy.dlq
}

resource "aws_s3_bucket_notification" "raw" {
  bucket = aws_s3_bucket.this["raw"].bucket

  # GuardDuty Malware Protection for S3 learns of new objects through EventBridge; it turns this on itself, so
  # it is declared here too, or every apply would turn it off again.
  eventbridge = var.raw_eventbridge_notifications

  queue {
    id            = "raw-object-created"
    queue_arn     = module.raw_events.arn
    events        = ["s3:ObjectCreated:*"]
    filter_prefix = var.raw_prefix
  }

  # S3 validates the destination when the configuration is written: the queue policy (and the key policy that
  # lets s3.amazonaws.com use the CMK) must already allow delivery.
  depends_on = [module.raw_events]
}
