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

override_resource {
  target          = aws_iam_role.malware_protection
  override_during = plan
  values = {
    arn = "arn:aws:iam::123456789012:role/imgpipe-test-malware-protection"
  }
}

variables {
  name_prefix       = "imgpipe-test"
  kms_key_arn       = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  trail_bucket_name = "imgpipe-test-trail-123456789012"
  s3_data_event_bucket_arns = [
    "arn:aws:s3:::imgpipe-test-raw-123456789012",
    "arn:aws:s3:::imgpipe-test-processed-123456789012",
  ]
  lambda_data_event_function_arns = [
    "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-image_processor",
  ]
  malware_protection = {
    bucket_name     = "imgpipe-test-raw-123456789012"
    bucket_arn      = "arn:aws:s3:::imgpipe-test-raw-123456789012"
    object_prefixes = ["raw/", "staging/"]
  }
}

run "the_trail_is_multi_region_validated_encrypted_and_records_the_data_events" {
  command = plan

  assert {
    condition = (
      aws_cloudtrail.this[0].is_multi_region_trail &&
      aws_cloudtrail.this[0].include_global_service_events &&
      aws_cloudtrail.this[0].enable_log_file_validation &&
      aws_cloudtrail.this[0].enable_logging &&
      aws_cloudtrail.this[0].kms_key_id == var.kms_key_arn &&
      aws_cloudtrail.this[0].s3_bucket_name == "imgpipe-test-trail-123456789012"
    )
    error_message = "The trail records every region with digest validation, encrypted with the environment's key, into its own bucket."
  }

  assert {
    condition = (
      length(aws_cloudtrail.this[0].advanced_event_selector) == 3 &&
      anytrue([for s in aws_cloudtrail.this[0].advanced_event_selector : anytrue([for f in s.field_selector : f.field == "eventCategory" && tolist(f.equals) == tolist(["Management"])])]) &&
      anytrue([for s in aws_cloudtrail.this[0].advanced_event_selector : anytrue([for f in s.field_selector : f.field == "resources.ARN" && tolist(f.starts_with) == tolist(["arn:aws:s3:::imgpipe-test-raw-123456789012/", "arn:aws:s3:::imgpipe-test-processed-123456789012/"])])]) &&
      anytrue([for s in aws_cloudtrail.this[0].advanced_event_selector : anytrue([for f in s.field_selector : f.field == "resources.type" && tolist(f.equals) == tolist(["AWS::Lambda::Function"])])]) &&
      anytrue([for s in aws_cloudtrail.this[0].advanced_event_selector : anytrue([for f in s.field_selector : f.field == "resources.ARN" && tolist(f.starts_with) == tolist(var.lambda_data_event_function_arns)])])
    )
    error_message = "Management events, object-level events on exactly the given buckets, and the given functions' invocations."
  }
}

run "malware_protection_scans_the_raw_prefixes_tags_verdicts_and_the_processor_must_wait_for_them" {
  command = plan

  assert {
    condition = (
      aws_guardduty_malware_protection_plan.raw[0].protected_resource[0].s3_bucket[0].bucket_name == "imgpipe-test-raw-123456789012" &&
      tolist(aws_guardduty_malware_protection_plan.raw[0].protected_resource[0].s3_bucket[0].object_prefixes) == tolist(["raw/", "staging/"]) &&
      aws_guardduty_malware_protection_plan.raw[0].actions[0].tagging[0].status == "ENABLED" &&
      output.malware_scan == "required"
    )
    error_message = "The plan scans raw/ and staging/ and tags each object; the processor is told to require the verdict."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.malware_protection[0].assume_role_policy).Statement[0].Principal.Service == "malware-protection-plan.guardduty.amazonaws.com" &&
      jsondecode(aws_iam_role.malware_protection[0].assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
    )
    error_message = "Only GuardDuty's malware protection, for this account, assumes the scanning role."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.malware_protection[0].policy).Statement :
      s.Resource != "*" && !contains(flatten([s.Action]), "s3:*") && !contains(flatten([s.Action]), "kms:*")
    ])
    error_message = "The scanning role names its resources: no wildcard resource or service-wide actions."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.malware_protection[0].policy).Statement :
      contains(["s3:GetObject", "s3:PutObjectTagging"], try(flatten([s.Action])[0], "")) ? tolist(flatten([s.Resource])) == tolist(["arn:aws:s3:::imgpipe-test-raw-123456789012/raw/*", "arn:aws:s3:::imgpipe-test-raw-123456789012/staging/*"]) : true
    ]) && one([for s in jsondecode(aws_iam_role_policy.malware_protection[0].policy).Statement : s if s.Sid == "DecryptThroughS3Only"]).Condition.StringLike["kms:ViaService"] == "s3.*.amazonaws.com"
    error_message = "It reads and tags only the protected prefixes, and uses the key only through S3."
  }
}

run "guardduty_watches_s3_and_access_analyzer_reports_external_access" {
  command = plan

  assert {
    condition = (
      aws_guardduty_detector.this[0].enable &&
      aws_guardduty_detector_feature.s3_data_events[0].name == "S3_DATA_EVENTS" &&
      aws_guardduty_detector_feature.s3_data_events[0].status == "ENABLED" &&
      aws_accessanalyzer_analyzer.this[0].type == "ACCOUNT"
    )
    error_message = "A GuardDuty detector with S3 protection, and an account Access Analyzer."
  }
}

run "an_organisation_keeps_its_own_trail_detector_and_analyzer" {
  command = plan

  variables {
    create_trail              = false
    create_guardduty_detector = false
    create_access_analyzer    = false
    malware_protection        = null
  }

  assert {
    condition = (
      length(aws_cloudtrail.this) == 0 && length(aws_guardduty_detector.this) == 0 &&
      length(aws_accessanalyzer_analyzer.this) == 0 && length(aws_guardduty_malware_protection_plan.raw) == 0 &&
      output.malware_scan == "observed"
    )
    error_message = "Each service can be left to the organisation; without a scan the processor only observes tags."
  }
}

run "more_than_five_scanned_prefixes_is_refused" {
  command = plan

  variables {
    malware_protection = {
      bucket_name     = "imgpipe-test-raw-123456789012"
      bucket_arn      = "arn:aws:s3:::imgpipe-test-raw-123456789012"
      object_prefixes = ["a/", "b/", "c/", "d/", "e/", "f/"]
    }
  }

  expect_failures = [var.malware_protection]
}
