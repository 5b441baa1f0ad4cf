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

# Computed attributes are unknown in a plan; give the DLQ its real-shaped ARN during planning so the
# redrive policy (built from it) can be asserted.
override_resource {
  target          = module.raw_events.aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events-dlq"
  }
}

override_resource {
  target          = module.raw_events.aws_sqs_queue.this
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events"
  }
}

variables {
  name_prefix = "imgpipe-test"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "bucket_names" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this["raw"].bucket == "imgpipe-test-raw-123456789012"
    error_message = "Raw bucket must be <name_prefix>-raw-<account_id>."
  }

  assert {
    condition     = aws_s3_bucket.this["processed"].bucket == "imgpipe-test-processed-123456789012"
    error_message = "Processed bucket must be <name_prefix>-processed-<account_id>."
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket.this : !b.force_destroy])
    error_message = "force_destroy must default to false."
  }
}

run "lifecycle_expires_everything_within_retention_on_both_buckets" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this) == 2
    error_message = "Both buckets need a lifecycle configuration."
  }

  assert {
    condition = alltrue([
      for lc in aws_s3_bucket_lifecycle_configuration.this : anytrue([
        for r in lc.rule : r.status == "Enabled" && r.expiration[0].days == 7
      ])
    ])
    error_message = "Current objects must expire after 7 days (default retention) on both buckets."
  }

  assert {
    condition = alltrue([
      for lc in aws_s3_bucket_lifecycle_configuration.this : anytrue([
        for r in lc.rule : r.status == "Enabled" && try(r.noncurrent_version_expiration[0].noncurrent_days, 0) == 1
      ])
    ])
    error_message = "Noncurrent versions must expire after 1 day on both buckets."
  }

  assert {
    condition = alltrue([
      for lc in aws_s3_bucket_lifecycle_configuration.this : alltrue([
        for r in lc.rule : r.abort_incomplete_multipart_upload[0].days_after_initiation == 1
      ])
    ])
    error_message = "Incomplete multipart uploads must be aborted after 1 day on both buckets."
  }

  assert {
    condition = alltrue([
      for lc in aws_s3_bucket_lifecycle_configuration.this : anytrue([
        for r in lc.rule : r.status == "Enabled" && try(r.expiration[0].expired_object_delete_marker, false)
      ])
    ])
    error_message = "Expired-object delete markers must be removed on both buckets."
  }
}

run "lifecycle_and_queues_follow_retention_days" {
  command = plan

  variables {
    retention_days = 3
  }

  assert {
    condition = alltrue([
      for lc in aws_s3_bucket_lifecycle_configuration.this : anytrue([
        for r in lc.rule : try(r.expiration[0].days, 0) == 3
      ])
    ])
    error_message = "Object expiration must follow retention_days."
  }

  assert {
    condition     = module.raw_events.queue.message_retention_seconds == 3 * 86400 && module.raw_events.dlq.message_retention_seconds == 3 * 86400
    error_message = "Queue and DLQ retention must follow retention_days."
  }
}

run "encryption_with_the_cmk_and_bucket_keys" {
  command = plan

  assert {
    condition = alltrue([
      for c in aws_s3_bucket_server_side_encryption_configuration.this : alltrue([
        for r in c.rule :
        r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
        r.apply_server_side_encryption_by_default[0].kms_master_key_id == var.kms_key_arn &&
        r.bucket_key_enabled
      ])
    ])
    error_message = "Both buckets must default to SSE-KMS with the module's key and bucket keys enabled."
  }

  assert {
    condition     = length(aws_s3_bucket_server_side_encryption_configuration.this) == 2
    error_message = "Both buckets need an encryption configuration."
  }

  assert {
    condition     = alltrue([for v in aws_s3_bucket_versioning.this : v.versioning_configuration[0].status == "Enabled"]) && length(aws_s3_bucket_versioning.this) == 2
    error_message = "Versioning must be enabled on both buckets."
  }
}

run "no_public_access_and_owner_enforced" {
  command = plan

  assert {
    condition = length(aws_s3_bucket_public_access_block.this) == 2 && alltrue([
      for p in aws_s3_bucket_public_access_block.this :
      p.block_public_acls && p.block_public_policy && p.ignore_public_acls && p.restrict_public_buckets
    ])
    error_message = "All four public access block flags must be true on both buckets."
  }

  assert {
    condition = length(aws_s3_bucket_ownership_controls.this) == 2 && alltrue([
      for o in aws_s3_bucket_ownership_controls.this : o.rule[0].object_ownership == "BucketOwnerEnforced"
    ])
    error_message = "Object ownership must be BucketOwnerEnforced (ACLs disabled) on both buckets."
  }
}

run "bucket_policy_enforced_by_default" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 2
    error_message = "Both buckets must get the enforcing bucket policy by default."
  }

  assert {
    condition = alltrue([
      for k, p in aws_s3_bucket_policy.this : anytrue([
        for s in jsondecode(p.policy).Statement :
        s.Effect == "Deny" && s.Principal == "*" && s.Action == "s3:*" &&
        try(s.Condition.Bool["aws:SecureTransport"], "") == "false" &&
        try(toset(s.Resource) == toset([local.bucket_arns[k], "${local.bucket_arns[k]}/*"]), false)
      ])
    ])
    error_message = "Both bucket policies must deny non-TLS access to the bucket and its objects."
  }

  assert {
    condition = alltrue([
      for k, p in aws_s3_bucket_policy.this : anytrue([
        for s in jsondecode(p.policy).Statement :
        s.Effect == "Deny" && s.Action == "s3:PutObject" &&
        try(s.Condition.StringNotEqualsIfExists["s3:x-amz-server-side-encryption"], "") == "aws:kms"
      ])
    ])
    error_message = "Both bucket policies must deny uploads that request an encryption other than SSE-KMS."
  }

  assert {
    condition = alltrue([
      for k, p in aws_s3_bucket_policy.this : anytrue([
        for s in jsondecode(p.policy).Statement :
        s.Effect == "Deny" && s.Action == "s3:PutObject" &&
        try(s.Condition.StringNotEqualsIfExists["s3:x-amz-server-side-encryption-aws-kms-key-id"], "") == var.kms_key_arn
      ])
    ])
    error_message = "Both bucket policies must deny uploads that name another KMS key."
  }

  assert {
    condition = alltrue([
      for k, p in aws_s3_bucket_policy.this : anytrue([
        for s in jsondecode(p.policy).Statement :
        s.Effect == "Deny" && s.Action == "s3:PutObject" &&
        try(s.Condition.StringEquals["s3:x-amz-server-side-encryption"], "") == "aws:kms" &&
        try(s.Condition.Null["s3:x-amz-server-side-encryption-aws-kms-key-id"], "") == "true"
      ])
    ])
    error_message = "Both bucket policies must deny aws:kms uploads without a key id (they would use the aws/s3 key)."
  }

  assert {
    condition = alltrue([
      for k, p in aws_s3_bucket_policy.this : alltrue([
        for s in jsondecode(p.policy).Statement : s.Effect == "Deny"
      ])
    ])
    error_message = "The bucket policies must only deny, never grant access."
  }
}

run "bucket_policy_can_be_disabled_for_emulators" {
  command = plan

  variables {
    enforce_bucket_policy = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0
    error_message = "No bucket policy (no TLS/encryption deny statements) may be attached when enforce_bucket_policy = false."
  }
}

run "queues_encrypted_retained_and_redriven" {
  command = plan

  assert {
    condition     = module.raw_events.queue.name == "imgpipe-test-raw-events" && module.raw_events.dlq.name == "imgpipe-test-raw-events-dlq"
    error_message = "Queue names must be <name_prefix>-raw-events and <name_prefix>-raw-events-dlq."
  }

  assert {
    condition     = module.raw_events.queue.kms_master_key_id == var.kms_key_arn && module.raw_events.dlq.kms_master_key_id == var.kms_key_arn
    error_message = "Both queues must be encrypted with the CMK."
  }

  assert {
    condition     = module.raw_events.queue.message_retention_seconds <= 7 * 86400 && module.raw_events.dlq.message_retention_seconds <= 7 * 86400
    error_message = "Queue messages must never be retained longer than retention_days."
  }

  assert {
    condition     = module.raw_events.dlq.message_retention_seconds <= module.raw_events.queue.message_retention_seconds
    error_message = "The DLQ must not retain messages longer than the source queue."
  }

  assert {
    condition     = module.raw_events.queue.visibility_timeout_seconds == 300
    error_message = "Default visibility timeout must be 300 s."
  }

  assert {
    condition = jsondecode(module.raw_events.redrive_policy) == {
      deadLetterTargetArn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events-dlq"
      maxReceiveCount     = 5
    }
    error_message = "The raw-events queue must redrive to its DLQ after 5 receives (default)."
  }

  assert {
    condition     = module.raw_events.dlq_redrive_allow_policy_enabled
    error_message = "The DLQ must only accept redrives from the raw-events queue by default."
  }
}

run "queue_policy_only_allows_the_raw_bucket" {
  command = plan

  assert {
    condition = [for s in jsondecode(module.raw_events.policies.queue).Statement : s if s.Effect == "Allow"] == [{
      Sid       = "AllowRawBucketNotifications"
      Effect    = "Allow"
      Principal = { Service = "s3.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events"
      Condition = {
        ArnEquals    = { "aws:SourceArn" = "arn:aws:s3:::imgpipe-test-raw-123456789012" }
        StringEquals = { "aws:SourceAccount" = "123456789012" }
      }
    }]
    error_message = "The queue policy must allow only s3.amazonaws.com SendMessage from the raw bucket of this account."
  }

  assert {
    condition = alltrue([
      for p in [module.raw_events.policies.queue, module.raw_events.policies.dlq] : anytrue([
        for s in jsondecode(p).Statement :
        s.Effect == "Deny" && s.Principal == "*" && s.Action == "sqs:*" && try(s.Condition.Bool["aws:SecureTransport"], "") == "false"
      ])
    ])
    error_message = "Both queues must deny access without TLS."
  }

  assert {
    condition     = alltrue([for s in jsondecode(module.raw_events.policies.dlq).Statement : s.Effect == "Deny"])
    error_message = "Nothing may be granted on the DLQ through its resource policy."
  }
}

run "raw_notifications" {
  command = plan

  assert {
    condition     = aws_s3_bucket_notification.raw.bucket == "imgpipe-test-raw-123456789012"
    error_message = "Notifications must be configured on the raw bucket."
  }

  assert {
    condition = length(aws_s3_bucket_notification.raw.queue) == 1 && alltrue([
      for q in aws_s3_bucket_notification.raw.queue : q.events == toset(["s3:ObjectCreated:*"]) && q.filter_prefix == "raw/" &&
      q.queue_arn == "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events"
    ])
    error_message = "ObjectCreated events under raw/ must go to the raw-events queue."
  }

  assert {
    condition     = output.raw_prefix == "raw/"
    error_message = "raw_prefix must default to raw/."
  }
}

run "custom_suffix_and_settings" {
  command = plan

  variables {
    bucket_name_suffix               = "dev01"
    raw_prefix                       = "incoming/raw/"
    queue_visibility_timeout_seconds = 900
    max_receive_count                = 3
    force_destroy                    = true
  }

  assert {
    condition     = aws_s3_bucket.this["raw"].bucket == "imgpipe-test-raw-dev01" && aws_s3_bucket.this["processed"].bucket == "imgpipe-test-processed-dev01"
    error_message = "bucket_name_suffix must replace the account id in bucket names."
  }

  assert {
    condition     = alltrue([for q in aws_s3_bucket_notification.raw.queue : q.filter_prefix == "incoming/raw/"])
    error_message = "raw_prefix must reach the notification filter."
  }

  assert {
    condition     = module.raw_events.queue.visibility_timeout_seconds == 900 && jsondecode(module.raw_events.redrive_policy).maxReceiveCount == 3
    error_message = "Visibility timeout and maxReceiveCount must be configurable."
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket.this : b.force_destroy])
    error_message = "force_destroy must reach both buckets."
  }
}

run "longest_name_prefix_keeps_bucket_names_within_63_chars" {
  command = plan

  variables {
    name_prefix = "abcdefghijklmnopqrstuvwxyz012345"
  }

  assert {
    condition     = alltrue([for b in aws_s3_bucket.this : length(b.bucket) <= 63])
    error_message = "Bucket names must stay within 63 characters."
  }
}

run "rejects_retention_days_8" {
  command = plan

  variables {
    retention_days = 8
  }

  expect_failures = [var.retention_days]
}

run "rejects_retention_days_0" {
  command = plan

  variables {
    retention_days = 0
  }

  expect_failures = [var.retention_days]
}

run "rejects_malformed_name_prefix" {
  command = plan

  variables {
    name_prefix = "Bad_Name"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_visibility_timeout_above_12_hours" {
  command = plan

  variables {
    queue_visibility_timeout_seconds = 43201
  }

  expect_failures = [var.queue_visibility_timeout_seconds]
}

run "rejects_negative_visibility_timeout" {
  command = plan

  variables {
    queue_visibility_timeout_seconds = -1
  }

  expect_failures = [var.queue_visibility_timeout_seconds]
}

run "rejects_raw_prefix_without_trailing_slash" {
  command = plan

  variables {
    raw_prefix = "raw"
  }

  expect_failures = [var.raw_prefix]
}

run "rejects_kms_alias_instead_of_key_arn" {
  command = plan

  variables {
    kms_key_arn = "alias/imgpipe-test"
  }

  expect_failures = [var.kms_key_arn]
}

run "rejects_max_receive_count_0" {
  command = plan

  variables {
    max_receive_count = 0
  }

  expect_failures = [var.max_receive_count]
}

run "extra_buckets_get_exactly_the_image_buckets_protection_and_retention" {
  command = plan

  variables {
    extra_buckets = ["analytics", "athena-results"]
  }

  assert {
    condition     = output.bucket_names["analytics"] == "imgpipe-test-analytics-123456789012" && output.bucket_names["athena-results"] == "imgpipe-test-athena-results-123456789012"
    error_message = "Extra buckets are named <name_prefix>-<key>-<suffix>."
  }

  assert {
    condition = alltrue([
      for k in ["analytics", "athena-results"] :
      aws_s3_bucket_public_access_block.this[k].restrict_public_buckets &&
      aws_s3_bucket_versioning.this[k].versioning_configuration[0].status == "Enabled" &&
      one([for r in aws_s3_bucket_server_side_encryption_configuration.this[k].rule : r.apply_server_side_encryption_by_default[0].kms_master_key_id]) == var.kms_key_arn &&
      output.object_expiration_days[k] == 7 && output.bucket_policies_enforced[k]
    ])
    error_message = "Every extra bucket is private, versioned, CMK-encrypted, TLS-only and expires with the retention."
  }
}

run "extra_buckets_cannot_shadow_raw_or_processed" {
  command = plan

  variables {
    extra_buckets = ["raw"]
  }

  expect_failures = [var.extra_buckets]
}

run "only_the_named_trail_writes_to_the_trail_bucket_and_only_there" {
  command = plan

  variables {
    extra_buckets     = ["analytics", "trail"]
    cloudtrail_writer = { bucket_key = "trail", trail_name = "imgpipe-test" }
  }

  assert {
    condition = (
      length([for s in jsondecode(aws_s3_bucket_policy.this["trail"].policy).Statement : s if can(s.Principal.Service)]) == 2 &&
      alltrue([
        for s in jsondecode(aws_s3_bucket_policy.this["trail"].policy).Statement : s.Condition.StringEquals["aws:SourceArn"] == "arn:aws:cloudtrail:us-east-1:123456789012:trail/imgpipe-test" if can(s.Principal.Service)
      ]) &&
      one([for s in jsondecode(aws_s3_bucket_policy.this["trail"].policy).Statement : s.Resource if s.Sid == "AllowCloudTrailWrite"]) == "arn:aws:s3:::imgpipe-test-trail-123456789012/AWSLogs/123456789012/*"
    )
    error_message = "CloudTrail may check the ACL and write AWSLogs/<account>/ of the trail bucket, for the named trail only."
  }

  assert {
    condition = alltrue([
      for k in ["raw", "processed", "analytics"] : length([for s in jsondecode(aws_s3_bucket_policy.this[k].policy).Statement : s if can(s.Principal.Service)]) == 0
    ]) && aws_s3_bucket_lifecycle_configuration.this["trail"].rule[0].expiration[0].days == 7
    error_message = "No other bucket lets a service write; the trail bucket expires like the image buckets."
  }

  assert {
    condition     = !aws_s3_bucket_notification.raw.eventbridge
    error_message = "EventBridge notifications stay off unless asked for (GuardDuty Malware Protection)."
  }
}

run "a_cloudtrail_writer_must_name_an_extra_bucket" {
  command = plan

  variables {
    cloudtrail_writer = { bucket_key = "trail", trail_name = "imgpipe-test" }
  }

  expect_failures = [var.cloudtrail_writer]
}

run "the_perimeter_denies_every_role_not_named_for_a_bucket" {
  command = plan

  variables {
    object_access_role_arns = { raw = ["arn:aws:iam::123456789012:role/imgpipe-test-image_processor"] }
    break_glass_role_arn    = "arn:aws:iam::123456789012:role/incident-response"
  }

  assert {
    condition = one([for s in jsondecode(aws_s3_bucket_policy.this["raw"].policy).Statement : s if s.Sid == "DenyDataAccessOutsideThePerimeter"]) == {
      Sid       = "DenyDataAccessOutsideThePerimeter"
      Effect    = "Deny"
      Principal = "*"
      Action = [
        "s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:ReplicateObject",
        "s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads", "s3:ListMultipartUploadParts",
        "s3:AbortMultipartUpload",
      ]
      Resource = ["arn:aws:s3:::imgpipe-test-raw-123456789012", "arn:aws:s3:::imgpipe-test-raw-123456789012/*"]
      Condition = {
        BoolIfExists = { "aws:PrincipalIsAWSService" = "false" }
        ArnNotEquals = { "aws:PrincipalArn" = ["arn:aws:iam::123456789012:role/imgpipe-test-image_processor", "arn:aws:iam::123456789012:role/incident-response"] }
      }
    }
    error_message = "Objects and listings of the raw bucket: its named roles and break-glass only; AWS services acting on their own behalf are left to their statements."
  }

  assert {
    condition     = one([for s in jsondecode(aws_s3_bucket_policy.this["processed"].policy).Statement : s.Condition.ArnNotEquals["aws:PrincipalArn"] if s.Sid == "DenyDataAccessOutsideThePerimeter"]) == ["arn:aws:iam::123456789012:role/incident-response"]
    error_message = "A bucket without named roles is closed to every role but break-glass."
  }
}

run "without_any_named_role_a_bucket_is_closed_to_every_role" {
  command = plan

  assert {
    condition = alltrue([
      for k, p in aws_s3_bucket_policy.this : one([
        for s in jsondecode(p.policy).Statement : keys(s.Condition) if s.Sid == "DenyDataAccessOutsideThePerimeter"
      ]) == ["BoolIfExists"]
    ])
    error_message = "With no role named, the perimeter denies every role (no empty ARN list, which AWS would refuse)."
  }
}

run "rejects_a_perimeter_principal_that_is_not_a_role" {
  command = plan

  variables {
    object_access_role_arns = { raw = ["*"] }
  }

  expect_failures = [var.object_access_role_arns]
}

run "no_cors_on_any_bucket_by_default" {
  command = plan

  assert {
    condition     = length(aws_s3_bucket_cors_configuration.raw) == 0 && length(output.raw_bucket_cors_origins) == 0
    error_message = "Without origins no bucket may have a CORS configuration."
  }
}

run "the_web_origins_may_post_upload_forms_to_the_raw_bucket_only" {
  command = plan

  variables {
    cors_allowed_origins = ["https://app.example.com", "http://localhost:5173"]
  }

  assert {
    condition     = aws_s3_bucket_cors_configuration.raw[0].bucket == "imgpipe-test-raw-123456789012"
    error_message = "The CORS configuration must be the raw bucket's."
  }

  assert {
    condition = (
      length(aws_s3_bucket_cors_configuration.raw[0].cors_rule) == 1 &&
      one(aws_s3_bucket_cors_configuration.raw[0].cors_rule).allowed_methods == toset(["POST"]) &&
      one(aws_s3_bucket_cors_configuration.raw[0].cors_rule).allowed_origins == toset(["https://app.example.com", "http://localhost:5173"])
    )
    error_message = "One rule: POST only, from exactly the given origins."
  }

  assert {
    condition = (
      try(length(one(aws_s3_bucket_cors_configuration.raw[0].cors_rule).allowed_headers), 0) == 0 &&
      try(length(one(aws_s3_bucket_cors_configuration.raw[0].cors_rule).expose_headers), 0) == 0
    )
    error_message = "The upload form needs no extra request header and reads no response header."
  }

  assert {
    condition     = output.raw_bucket_cors_origins == tolist(["http://localhost:5173", "https://app.example.com"])
    error_message = "The module must report the raw bucket's CORS origins."
  }
}

run "rejects_a_wildcard_cors_origin" {
  command = plan

  variables {
    cors_allowed_origins = ["*"]
  }

  expect_failures = [var.cors_allowed_origins]
}

run "rejects_a_cors_origin_with_a_path" {
  command = plan

  variables {
    cors_allowed_origins = ["https://app.example.com/"]
  }

  expect_failures = [var.cors_allowed_origins]
}

run "rejects_plain_http_to_a_public_host" {
  command = plan

  variables {
    cors_allowed_origins = ["http://app.example.com"]
  }

  expect_failures = [var.cors_allowed_origins]
}
