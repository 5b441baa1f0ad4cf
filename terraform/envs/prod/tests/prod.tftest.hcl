# The production configuration, asserted offline with a mocked AWS provider (the emulator never sees it).
# Run after `terraform init -backend=false`: terraform test keeps its state in memory and ignores the backend.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:role/deploy"
      user_id    = "AROATESTROLE"
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
  target          = module.kms.aws_kms_key.this
  override_during = plan
  values = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

run "prod_is_protected" {
  command = plan

  assert {
    condition     = output.name_prefix == "imgpipe-prod"
    error_message = "The prod name prefix must be imgpipe-prod."
  }

  assert {
    condition     = module.metadata.table_name == "imgpipe-prod-images"
    error_message = "The prod table must be imgpipe-prod-images."
  }

  assert {
    condition     = output.raw_bucket_name == "imgpipe-prod-raw-123456789012" && output.processed_bucket_name == "imgpipe-prod-processed-123456789012"
    error_message = "Prod bucket names must carry the account id."
  }

  assert {
    condition     = module.metadata.deletion_protection_enabled == true
    error_message = "The prod table must have deletion protection."
  }

  assert {
    condition     = module.storage.bucket_policies_enforced == { raw = true, processed = true }
    error_message = "Prod buckets must have the TLS/encryption-enforcing bucket policies."
  }

  assert {
    condition     = module.storage.force_destroy == false
    error_message = "Prod buckets must not be force-destroyable."
  }

  assert {
    condition     = module.kms.deletion_window_in_days == 30 && module.kms.key_rotation_enabled
    error_message = "The prod key must rotate and keep the 30-day deletion window."
  }

  assert {
    condition     = module.kms.key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "The override must provide the key ARN (test setup)."
  }

  assert {
    condition     = output.kms_alias_name == "alias/imgpipe-prod"
    error_message = "The prod key alias must be alias/imgpipe-prod."
  }

  assert {
    condition     = output.retention_days == 7 && output.lambda_architecture == "arm64" && output.region == "us-east-1" && output.raw_prefix == "raw/"
    error_message = "Prod defaults: 7-day retention, arm64, us-east-1, raw/ prefix."
  }
}

run "retention_flows_through_every_store" {
  command = plan

  variables {
    retention_days = 5
  }

  assert {
    condition     = output.retention_days == 5
    error_message = "retention_days must be exported."
  }

  assert {
    condition     = module.storage.object_expiration_days == { raw = 5, processed = 5 }
    error_message = "Bucket lifecycles must follow retention_days."
  }

  assert {
    condition     = module.storage.message_retention_seconds == { raw_events = 5 * 86400, dlq = 5 * 86400 }
    error_message = "Queue retention must follow retention_days."
  }

  assert {
    condition     = module.metadata.pitr_recovery_period_in_days == 5
    error_message = "The PITR window must follow retention_days."
  }
}

run "rejects_retention_days_8" {
  command = plan

  variables {
    retention_days = 8
  }

  expect_failures = [var.retention_days]
}

run "rejects_unknown_lambda_architecture" {
  command = plan

  variables {
    lambda_architecture = "arm"
  }

  expect_failures = [var.lambda_architecture]
}
