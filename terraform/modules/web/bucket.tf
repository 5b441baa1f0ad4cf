# The site's bucket: private, versioned, encrypted with a key of its own whose policy lets CloudFront decrypt
# for this distribution only (a key shared with the image buckets would have to trust CloudFront too).

resource "aws_kms_key" "site" {
  description             = "${var.name_prefix} web app files"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  policy                  = data.aws_iam_policy_document.site_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "site" {
  name          = "alias/${var.name_prefix}-web"
  target_key_id = aws_kms_key.site.key_id
}

data "aws_iam_policy_document" "site_key" {
  #checkov:skip=CKV_AWS_109:The account-root statement is AWS's default key policy: it is what lets IAM policies grant use of the key at all. The key holds only the app's public files.
  #checkov:skip=CKV_AWS_111:Same statement: in a key policy, resource "*" means this key and no other.
  #checkov:skip=CKV_AWS_356:Same: a key policy's resource is always the key itself.
  statement {
    sid       = "AccountAdministers"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudFrontReadsForThisDistribution"
    actions   = ["kms:Decrypt"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }
}

resource "aws_s3_bucket" "site" {
  #checkov:skip=CKV_AWS_144:The files are the repository's: a lost region is redeployed from it, not replicated.
  #checkov:skip=CKV_AWS_18:Access to the app is logged by CloudFront's standard logs where wanted; the bucket is read by CloudFront alone.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the app's files.
  bucket_prefix = "${var.name_prefix}-web-"
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "site" {
  bucket                  = aws_s3_bucket.site.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "site" {
  bucket = aws_s3_bucket.site.id
  versioning_configuration {
    status = "Enabled"
  }
}

# Old versions of the files stay a month for a rollback by hand, then go.
resource "aws_s3_bucket_lifecycle_configuration" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    id     = "old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
  depends_on = [aws_s3_bucket_versioning.site]
}

resource "aws_s3_bucket_server_side_encryption_configuration" "site" {
  bucket = aws_s3_bucket.site.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.site.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "site" {
  bucket     = aws_s3_bucket.site.id
  policy     = data.aws_iam_policy_document.site_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.site]
}

data "aws_iam_policy_document" "site_bucket" {
  statement {
    sid       = "CloudFrontReadsForThisDistribution"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.site.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.this.arn]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.site.arn, "${aws_s3_bucket.site.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_object" "file" {
  for_each = local.files

  bucket        = aws_s3_bucket.site.id
  key           = each.value
  source        = "${var.source_dir}/${each.value}"
  source_hash   = filemd5("${var.source_dir}/${each.value}")
  content_type  = lookup(local.content_types, reverse(split(".", each.value))[0], "application/octet-stream")
  cache_control = "no-cache" # revalidated on every load: a deploy is visible at once, an unchanged file costs a 304
  tags          = var.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.site]
}

resource "aws_s3_object" "config" {
  bucket        = aws_s3_bucket.site.id
  key           = "config.json"
  content       = jsonencode(local.config)
  content_type  = local.content_types.json
  cache_control = "no-store"
  tags          = var.tags

  depends_on = [aws_s3_bucket_server_side_encryption_configuration.site]
}
