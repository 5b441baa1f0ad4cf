# The local (emulator) configuration, asserted offline with the shared mocked AWS provider (terraform/testing/aws);
# endpoints are irrelevant under the mock. The wiring and the secure defaults are asserted once, in
# modules/pipeline/tests; this suite asserts what envs/local passes: exactly the documented relaxations.

mock_provider "aws" {
  source          = "../../testing/aws"
  override_during = plan
}

variables {
  lambda_dist_dir = "../../testing/lambda" # fixture manifest of `make package` output (arm64)
}

run "local_relaxations_are_exactly_the_documented_ones_and_processing_is_split" {
  command = plan

  # local relaxations are exactly the documented ones
  assert {
    condition     = !output.pipeline.processor_event_source.through_alias
    error_message = "Locally the SQS mapping targets the unqualified function (moto reports an alias mapping as its version)."
  }

  assert {
    condition     = output.pipeline.waf_enabled
    error_message = "The WAF stays on locally: moto holds it, so local runs the production shape."
  }

  assert {
    condition     = output.pipeline.name_prefix == "imgpipe-local" && output.pipeline.metadata_table_name == "imgpipe-local-images"
    error_message = "Local names must be imgpipe-local-*."
  }

  assert {
    condition     = output.pipeline.bucket_policies_enforced == { raw = false, processed = false, analytics = false, "athena-results" = false, trail = false }
    error_message = "Local buckets carry no condition-based policy (moto cannot evaluate conditions)."
  }

  assert {
    condition     = !output.pipeline.dlq_redrive_allow_policy_enabled
    error_message = "The local DLQ has no redrive-allow policy (moto does not implement RedriveAllowPolicy)."
  }

  assert {
    condition     = output.pipeline.force_destroy && !output.pipeline.deletion_protection_enabled && output.pipeline.kms_deletion_window_in_days == 7
    error_message = "Local stack must be disposable: force_destroy, no deletion protection, 7-day key window."
  }

  assert {
    condition     = !output.pipeline.processor_event_source.enabled && output.pipeline.processor_event_source.report_batch_item_failures
    error_message = "The local processor mapping is disabled (the local worker runs it; moto would need Docker) and keeps partial-failure reporting."
  }

  assert {
    condition     = output.pipeline.kafka_event_source.type == "self_managed" && output.pipeline.kafka_event_source.bootstrap_servers == tolist(["127.0.0.1:19092"]) && !output.pipeline.kafka_event_source.mapping_created
    error_message = "Local Kafka ingestion reads the embedded broker without a mapping (moto refuses Kafka sources); the local worker consumes."
  }

  assert {
    condition     = output.pipeline.retention_audit.trust_event_time && output.pipeline.retention_audit.schedule_expression == "rate(60 minutes)"
    error_message = "Only local lets the audit take its clock from the event (time travel); the schedule is the default."
  }

  assert {
    condition     = !output.pipeline.analytics.event_source.mapping_created && output.pipeline.analytics.event_source.stream_arn == output.pipeline.metadata_table_stream_arn
    error_message = "The local export stream has no mapping (moto empties a stream with one attached); the local worker delivers what the module declares."
  }

  assert {
    condition = (
      output.pipeline.security.malware_scan == "observed" && output.pipeline.security.malware_protection_plan_arn == null &&
      output.pipeline.security.access_analyzer_arn == null && output.pipeline.security.trail_bucket_name == "imgpipe-local-trail-123456789012"
    )
    error_message = "Locally only the malware scan (the processor observes tags) and Access Analyzer are off (moto holds neither); the trail and GuardDuty stay."
  }

  assert {
    condition     = output.pipeline.api_keys_cache_seconds == 5
    error_message = "Locally a revoked key stops working within 5 s (stricter than the 60 s default) so its test waits 5 s."
  }

  assert {
    condition     = output.pipeline.kms_key_rotation_enabled
    error_message = "Key rotation stays on even locally."
  }

  assert {
    condition     = alltrue([for arn in values(output.pipeline.encryption_kms_key_arns) : arn == output.pipeline.kms_key_arn])
    error_message = "Encryption with the environment key is never relaxed locally."
  }

  assert {
    condition     = output.pipeline.object_expiration_days == { raw = 7, processed = 7, analytics = 7, "athena-results" = 7, trail = 7 } && output.pipeline.message_retention_seconds == { raw_events = 604800, dlq = 604800 } && output.pipeline.pitr_recovery_period_in_days == 7
    error_message = "Retention controls are never relaxed locally."
  }

  assert {
    condition = (
      output.pipeline.web_users.jwt.jwks_url == "http://127.0.0.1:4566/${output.pipeline.web_users.user_pool_id}/.well-known/jwks.json" &&
      startswith(output.pipeline.web_users.jwt.issuer, "https://cognito-idp.us-east-1.amazonaws.com/") &&
      output.pipeline.web_users.password_auth_allowed && !output.pipeline.web_users.deletion_protection
    )
    error_message = "Locally the keys come from the emulator (tokens still name the pool's real issuer), and users sign in with a password."
  }

  # Not a relaxation: the opt-in principals are on locally so that the authorization matrix evaluates their edges.
  assert {
    condition = (
      output.perimeter.analyst_role_arn == "arn:aws:iam::123456789012:role/imgpipe-local-analyst" &&
      output.perimeter.break_glass_role_arn == "arn:aws:iam::123456789012:role/imgpipe-local-break-glass"
    )
    error_message = "envs/local turns the analyst role and a break-glass ARN on, for the matrix."
  }

  assert {
    condition = alltrue([
      for name, doc in output.pipeline.authorization.bucket_policies :
      anytrue([for s in jsondecode(doc).Statement : s.Sid == "DenyDataAccessOutsideThePerimeter"])
    ])
    error_message = "Every local bucket's policy is declared with its perimeter (evaluated by the matrix, not attached: moto)."
  }

  # the local stack splits processing between the function and two worker tasks
  assert {
    condition = (
      output.pipeline.processing.mode == "split" && output.pipeline.processing.large_image_min_bytes == 4194304 &&
      output.pipeline.processing.large_image_min_pixels == 24000000 &&
      output.pipeline.processing.workers.min_tasks == 2 && output.pipeline.processor_event_source != null
    )
    error_message = "envs/local deploys split: the function consumes the raw events, objects of 4 MiB or more (or 24 MP or more) go to two worker tasks."
  }

  assert {
    condition     = output.pipeline.processing.workers.poll_wait_seconds == 1
    error_message = "Local worker tasks poll for 1 s (a relaxation: the local worker's restart gives them 5 s to drain, not the stopTimeout)."
  }
}

run "rejects_endpoint_without_scheme" {
  command = plan

  variables {
    # rejects endpoint without scheme
    endpoint_url = "127.0.0.1:4566"
  }

  expect_failures = [
    var.endpoint_url,
  ]
}

# Not a relaxation: the local stack runs the split mode, so every local run exercises the function and the workers.

run "lambda_mode_locally_makes_no_network_and_no_repository" {
  command = plan

  variables {
    processing_mode = "lambda"
  }

  assert {
    condition     = output.pipeline.processing.workers == null && length(aws_vpc.workers) == 0 && length(aws_ecr_repository.worker) == 0
    error_message = "Without workers the local env makes neither their network nor their repository."
  }
}
