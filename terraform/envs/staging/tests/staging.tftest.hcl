# The staging configuration, asserted offline with a mocked AWS provider (the emulator never sees it).
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

run "staging_keeps_secure_defaults" {
  command = plan

  assert {
    condition     = output.name_prefix == "imgpipe-staging" && output.raw_bucket_name == "imgpipe-staging-raw-123456789012"
    error_message = "Staging names must be imgpipe-staging-*."
  }

  assert {
    condition     = module.storage.bucket_policies_enforced == { raw = true, processed = true } && module.storage.force_destroy == false
    error_message = "Staging buckets must keep the enforcing bucket policies and must not be force-destroyable."
  }

  assert {
    condition     = module.metadata.deletion_protection_enabled && module.kms.deletion_window_in_days == 30
    error_message = "Staging keeps table deletion protection and the 30-day key deletion window."
  }

  assert {
    condition     = module.storage.object_expiration_days == { raw = 7, processed = 7 } && module.metadata.pitr_recovery_period_in_days == 7
    error_message = "Staging retention must be 7 days everywhere."
  }
}

run "rejects_retention_days_0" {
  command = plan

  variables {
    retention_days = 0
  }

  expect_failures = [var.retention_days]
}
