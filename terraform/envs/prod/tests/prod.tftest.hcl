# The production configuration, asserted offline with the shared mocked AWS provider (terraform/testing/aws);
# the emulator never sees it. Run after `terraform init -backend=false`: terraform test keeps its state in memory
# and ignores the backend. The validation of the inputs (retention_days 1-7, arm64|x86_64) is asserted once, in
# modules/pipeline/tests.

mock_provider "aws" {
  source          = "../../testing/aws"
  override_during = plan
}

variables {
  lambda_dist_dir = "../../testing/lambda" # fixture manifest of `make package` output (arm64)
}

run "prod_is_protected_and_runs_every_security_service" {
  command = plan

  # prod is protected
  assert {
    condition     = output.pipeline.processor_event_source.through_alias
    error_message = "prod's processor is triggered through its live alias (a rollback is one alias update)."
  }

  assert {
    condition     = output.pipeline.name_prefix == "imgpipe-prod"
    error_message = "The prod name prefix must be imgpipe-prod."
  }

  assert {
    condition     = output.pipeline.metadata_table_name == "imgpipe-prod-images"
    error_message = "The prod table must be imgpipe-prod-images."
  }

  assert {
    condition     = output.pipeline.raw_bucket_name == "imgpipe-prod-raw-123456789012" && output.pipeline.processed_bucket_name == "imgpipe-prod-processed-123456789012"
    error_message = "Prod bucket names must carry the account id."
  }

  assert {
    condition     = output.pipeline.deletion_protection_enabled == true
    error_message = "The prod table must have deletion protection."
  }

  assert {
    condition     = output.pipeline.bucket_policies_enforced == { raw = true, processed = true, analytics = true, "athena-results" = true, trail = true }
    error_message = "Prod buckets must have the TLS/encryption-enforcing bucket policies."
  }

  assert {
    condition     = output.pipeline.force_destroy == false
    error_message = "Prod buckets must not be force-destroyable."
  }

  assert {
    condition     = output.pipeline.dlq_redrive_allow_policy_enabled == true
    error_message = "Only the raw-events queue may use the prod DLQ."
  }

  assert {
    condition     = output.pipeline.processor_event_source.enabled && output.pipeline.raw_events_visibility_timeout_seconds >= 360
    error_message = "The prod processor must consume the raw-events queue, whose visibility timeout is >= 6 x its timeout."
  }

  assert {
    condition     = output.pipeline.kafka_event_source == null
    error_message = "Prod has no Kafka source until its cluster is configured (var kafka of the pipeline)."
  }

  assert {
    condition     = output.pipeline.kms_deletion_window_in_days == 30 && output.pipeline.kms_key_rotation_enabled
    error_message = "The prod key must rotate and keep the 30-day deletion window."
  }

  assert {
    condition     = output.pipeline.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555" && alltrue([for arn in values(output.pipeline.encryption_kms_key_arns) : arn == output.pipeline.kms_key_arn])
    error_message = "Every prod store must be encrypted with the prod key."
  }

  assert {
    condition     = output.pipeline.kms_alias_name == "alias/imgpipe-prod"
    error_message = "The prod key alias must be alias/imgpipe-prod."
  }

  assert {
    condition     = output.pipeline.retention_days == 7 && output.pipeline.lambda_architecture == "arm64" && output.pipeline.region == "us-east-1" && output.pipeline.raw_prefix == "raw/"
    error_message = "Prod defaults: 7-day retention, arm64, us-east-1, raw/ prefix."
  }

  # prod runs every security service and requires the malware verdict
  assert {
    condition = (
      output.pipeline.security.malware_scan == "required" &&
      output.pipeline.security.trail_bucket_name == "imgpipe-prod-trail-123456789012"
    )
    error_message = "prod scans raw objects for malware (the processor waits for the verdict) and keeps its own trail bucket."
  }
}

run "retention_flows_through_every_store" {
  command = plan

  variables {
    retention_days = 5
  }

  assert {
    condition     = output.pipeline.retention_days == 5
    error_message = "retention_days must be exported."
  }

  assert {
    condition     = output.pipeline.object_expiration_days == { raw = 5, processed = 5, analytics = 5, "athena-results" = 5, trail = 5 }
    error_message = "Bucket lifecycles must follow retention_days."
  }

  assert {
    condition     = output.pipeline.message_retention_seconds == { raw_events = 5 * 86400, dlq = 5 * 86400 }
    error_message = "Queue retention must follow retention_days."
  }

  assert {
    condition     = output.pipeline.pitr_recovery_period_in_days == 5
    error_message = "The PITR window must follow retention_days."
  }

  assert {
    condition = (
      !output.pipeline.retention_audit.trust_event_time &&
      output.pipeline.retention_audit.schedule_expression == "rate(60 minutes)" &&
      output.pipeline.retention_audit.audited_buckets == tolist([output.pipeline.raw_bucket_name, output.pipeline.processed_bucket_name, output.pipeline.analytics.bucket_name, output.pipeline.analytics.results_bucket_name, output.pipeline.security.trail_bucket_name])
    )
    error_message = "prod's retention audit runs hourly on the wall clock (no time travel) over every image-derived bucket, the trail's included."
  }

  assert {
    condition     = output.pipeline.analytics.event_source.mapping_created
    error_message = "prod exports the metadata stream through a real event source mapping."
  }
}

