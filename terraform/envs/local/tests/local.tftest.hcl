# The local (emulator) configuration, asserted offline with a mocked AWS provider.
# terraform test keeps its state in memory; endpoints are irrelevant under the mock.

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

run "local_relaxations_are_exactly_the_documented_ones" {
  command = plan

  assert {
    condition     = output.name_prefix == "imgpipe-local" && output.metadata_table_name == "imgpipe-local-images"
    error_message = "Local names must be imgpipe-local-*."
  }

  assert {
    condition     = module.storage.bucket_policies_enforced == { raw = false, processed = false }
    error_message = "Local buckets carry no condition-based policy (moto cannot evaluate conditions)."
  }

  assert {
    condition     = module.storage.force_destroy && !module.metadata.deletion_protection_enabled && module.kms.deletion_window_in_days == 7
    error_message = "Local stack must be disposable: force_destroy, no deletion protection, 7-day key window."
  }

  assert {
    condition     = module.kms.key_rotation_enabled
    error_message = "Key rotation stays on even locally."
  }

  assert {
    condition     = module.storage.object_expiration_days == { raw = 7, processed = 7 } && module.storage.message_retention_seconds == { raw_events = 604800, dlq = 604800 } && module.metadata.pitr_recovery_period_in_days == 7
    error_message = "Retention controls are never relaxed locally."
  }
}

run "rejects_endpoint_without_scheme" {
  command = plan

  variables {
    endpoint_url = "127.0.0.1:4566"
  }

  expect_failures = [var.endpoint_url]
}
