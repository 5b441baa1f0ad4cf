# Plan-only tests with the shared mocked AWS provider (terraform/testing/aws): offline, no credentials, seconds.
# They assert the wiring of kms -> storage/metadata, the secure defaults and the validation of the inputs, once
# for every environment; the env suites only assert what each env passes.
# Every run is a whole plan of the stack (~6 s of CPU on a 2-core machine), so the checks of the defaults share one
# run, and invalid settings are refused together, each by its own validation: expect_failures fails the run if any
# one of them is accepted. The default run asserts the WAF is on (the ingest_api suite asserts the web ACL); the
# runs about other settings set waf_enabled = false, which the web ACL's plan would only slow (CPU 133 -> 123 s).

mock_provider "aws" {
  source          = "../../testing/aws"
  override_during = plan
}

# The two queues apart (the shared mock gives every queue the same values), to catch swapped wiring.
override_resource {
  target          = module.storage.module.raw_events.aws_sqs_queue.this
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-raw-events"
  }
}

override_resource {
  target          = module.storage.module.raw_events.aws_sqs_queue.dlq
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events-dlq"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-raw-events-dlq"
  }
}

variables {
  name_prefix     = "imgpipe-test"
  lambda_dist_dir = "../../testing/lambda" # fixture manifest (arm64), relative to the directory tests run in
}

run "the_default_pipeline" {
  command = plan

  # every store is encrypted with the environment key
  assert {
    condition     = output.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "kms_key_arn must be the kms module's key ARN (test setup: the shared mock)."
  }

  assert {
    condition     = toset(keys(output.encryption_kms_key_arns)) == toset(["raw", "processed", "analytics", "athena-results", "trail", "raw_events", "dlq", "metadata_table", "api_idempotency_table"])
    error_message = "encryption_kms_key_arns must cover both buckets, both queues and the table."
  }

  assert {
    condition     = alltrue([for arn in values(output.encryption_kms_key_arns) : arn == module.kms.key_arn])
    error_message = "Both buckets, both queues and the metadata table must be encrypted with the kms module's key ARN."
  }

  # secure defaults
  assert {
    condition     = output.bucket_policies_enforced == { raw = true, processed = true, analytics = true, "athena-results" = true, trail = true }
    error_message = "Every bucket (images, exports, Athena results) must get the TLS/encryption-enforcing bucket policies by default."
  }

  assert {
    condition     = output.force_destroy == false
    error_message = "Buckets must not be force-destroyable by default."
  }

  assert {
    condition     = output.deletion_protection_enabled == true
    error_message = "The metadata table must be protected against deletion by default."
  }

  assert {
    condition     = output.kms_deletion_window_in_days == 30 && output.kms_key_rotation_enabled
    error_message = "The key must rotate and keep the 30-day deletion window by default."
  }

  assert {
    condition     = output.dlq_redrive_allow_policy_enabled == true
    error_message = "Only the raw-events queue may use the DLQ by default."
  }

  assert {
    condition     = output.retention_days == 7 && output.object_expiration_days == { raw = 7, processed = 7, analytics = 7, "athena-results" = 7, trail = 7 } && output.message_retention_seconds == { raw_events = 7 * 86400, dlq = 7 * 86400 } && output.pitr_recovery_period_in_days == 7
    error_message = "Retention must default to 7 days everywhere."
  }

  assert {
    condition     = output.lambda_architecture == "arm64"
    error_message = "lambda_architecture must default to arm64."
  }

  assert {
    condition     = output.api_keys_cache_seconds == 60
    error_message = "A revoked API key must stop working within the promised 60 s by default."
  }

  # names and the output contract
  assert {
    condition = alltrue([for v in [
      output.region, output.name_prefix, output.lambda_architecture, output.kms_key_arn, output.kms_alias_name,
      output.raw_bucket_name, output.processed_bucket_name, output.raw_prefix, output.raw_events_queue_url,
      output.raw_events_queue_arn, output.raw_events_dlq_url, output.metadata_table_name, output.metadata_table_stream_arn,
    ] : v != null && v != ""]) && output.retention_days != null
    error_message = "Every output of the env contract (exported by each env as `pipeline`) must be set."
  }

  assert {
    condition     = output.region == "us-east-1" && output.name_prefix == "imgpipe-test" && output.kms_alias_name == "alias/imgpipe-test"
    error_message = "region comes from the provider; the alias is alias/<name_prefix>."
  }

  assert {
    condition     = output.raw_bucket_name == "imgpipe-test-raw-123456789012" && output.processed_bucket_name == "imgpipe-test-processed-123456789012" && output.raw_prefix == "raw/"
    error_message = "Bucket names must be <name_prefix>-{raw,processed}-<account id>; the raw prefix raw/."
  }

  assert {
    condition     = output.raw_events_queue_arn == "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events" && endswith(output.raw_events_queue_url, "/imgpipe-test-raw-events") && endswith(output.raw_events_dlq_url, "/imgpipe-test-raw-events-dlq")
    error_message = "The queue outputs must be the raw-events queue's and the DLQ's, not swapped."
  }

  assert {
    condition     = output.metadata_table_name == "imgpipe-test-images" && output.metadata_table_stream_arn == "arn:aws:dynamodb:us-east-1:123456789012:table/mocked-table/stream/2026-01-01T00:00:00.000"
    error_message = "The table must be <name_prefix>-images; its stream ARN is exported."
  }

  # the api is wired to the packages and protected by default
  assert {
    condition     = output.waf_enabled # the ingest_api suite asserts the web ACL and its rules
    error_message = "The API stage must be protected by the WAF unless an environment opts out."
  }

  assert {
    condition = alltrue([
      for name in ["upload_api", "api_authorizer"] :
      module.ingest_api.function_names[name] == "imgpipe-test-${name}"
    ])
    error_message = "Both API functions must be deployed under the environment prefix."
  }

  assert {
    condition     = output.api_binary_media_types == ["image/*"]
    error_message = "image/* must reach upload_api as binary."
  }

  # no web origin means no cors anywhere
  assert {
    condition     = length(module.storage.raw_bucket_cors_origins) == 0 && length(module.ingest_api.cors_allowed_origins) == 0
    error_message = "Without web origins neither the raw bucket nor the API may answer CORS."
  }

  # no kafka source deploys nothing for kafka
  assert {
    condition     = output.kafka_event_source == null && length(module.ingest_kafka) == 0
    error_message = "Without var.kafka, no Kafka resources."
  }

  # web users are on by default and their pool reaches the authorizer
  assert {
    condition = (
      output.web_users.user_pool_id == "us-east-1_AbC123xyz" &&
      output.web_users.jwt.issuer == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyz" &&
      output.web_users.jwt.jwks_url == "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbC123xyz/.well-known/jwks.json"
    )
    error_message = "The pool's issuer and JWKS (at the issuer, not overridden) are the pipeline's web_users output."
  }

  assert {
    condition     = jsonencode(output.web_users.accepted_by_api) == jsonencode(output.web_users.jwt) && jsonencode(output.web_users.jwt.client_ids) == jsonencode(["4pq0example1client2id3"])
    error_message = "The authorizer verifies tokens of exactly this pool and its SPA client."
  }

  assert {
    condition     = !output.web_users.password_auth_allowed && output.web_users.deletion_protection
    error_message = "No password flow and a protected pool by default."
  }

  # lambda mode is the default and runs no container
  assert {
    condition     = length(module.workers) == 0 && length(module.large_images_queue) == 0 && module.processing.event_source != null
    error_message = "By default the function alone processes images: no workers, no second queue."
  }
}

run "retention_days_reaches_lifecycle_queues_and_pitr" {
  command = plan

  variables {
    retention_days      = 3
    lambda_architecture = "x86_64"
    lambda_dist_dir     = "../../testing/lambda-x86_64"
  }

  assert {
    condition     = output.retention_days == 3
    error_message = "retention_days must be exported."
  }

  assert {
    condition     = output.object_expiration_days == { raw = 3, processed = 3, analytics = 3, "athena-results" = 3, trail = 3 }
    error_message = "Bucket lifecycles must follow retention_days."
  }

  assert {
    condition     = output.message_retention_seconds == { raw_events = 3 * 86400, dlq = 3 * 86400 }
    error_message = "Queue and DLQ retention must follow retention_days."
  }

  assert {
    condition     = output.pitr_recovery_period_in_days == 3
    error_message = "The PITR window must follow retention_days."
  }

  assert {
    condition     = output.lambda_architecture == "x86_64"
    error_message = "x86_64 must be selectable."
  }
}

run "relaxations_reach_the_modules" {
  command = plan

  variables {
    waf_enabled                      = false
    kms_deletion_window_in_days      = 7
    enforce_bucket_policy            = false
    force_destroy                    = true
    deletion_protection_enabled      = false
    dlq_redrive_allow_policy_enabled = false
  }

  assert {
    condition     = output.kms_deletion_window_in_days == 7 && output.kms_key_rotation_enabled
    error_message = "The deletion window must reach the key; rotation is never relaxed."
  }

  assert {
    condition     = output.bucket_policies_enforced == { raw = false, processed = false, analytics = false, "athena-results" = false, trail = false } && output.force_destroy
    error_message = "enforce_bucket_policy and force_destroy must reach both buckets."
  }

  assert {
    condition     = !output.deletion_protection_enabled && !output.dlq_redrive_allow_policy_enabled
    error_message = "deletion_protection_enabled and dlq_redrive_allow_policy_enabled must reach the table and the DLQ."
  }

  assert {
    condition     = alltrue([for arn in values(output.encryption_kms_key_arns) : arn == output.kms_key_arn]) && output.pitr_recovery_period_in_days == 7
    error_message = "Encryption and retention are never relaxed."
  }
}

run "rejects_invalid_settings" {
  command = plan

  variables {
    # rejects retention days 8
    retention_days = 8
    # rejects unknown lambda architecture
    lambda_architecture = "arm"
    # rejects kms deletion window below 7
    kms_deletion_window_in_days = 6
    # rejects malformed name prefix
    name_prefix = "Imgpipe_Prod"
    # a mode with workers needs their settings
    processing_mode = "split"
    # a pixel rule of a fraction of a pixel
    large_image_min_pixels = 0.5
  }

  expect_failures = [
    var.retention_days,
    var.lambda_architecture,
    var.kms_deletion_window_in_days,
    var.name_prefix,
    var.workers,
    var.large_image_min_pixels,
  ]
}

run "rejects_retention_days_0" {
  command = plan

  variables {
    # rejects retention days 0
    retention_days = 0
  }

  expect_failures = [
    var.retention_days,
  ]
}

run "the_web_origins_reach_the_raw_bucket_and_the_api" {
  command = plan

  variables {
    waf_enabled = false
    web_origins = ["https://app.example.com"]
  }

  assert {
    condition = (
      module.storage.raw_bucket_cors_origins == tolist(["https://app.example.com"]) &&
      module.ingest_api.cors_allowed_origins == tolist(["https://app.example.com"])
    )
    error_message = "The web app's origins must be the raw bucket's CORS origins and the API's, both."
  }
}

run "processing_consumes_the_raw_events_queue_with_six_times_its_timeout" {
  command = plan

  variables {
    waf_enabled               = false
    processor_timeout_seconds = 90
  }

  assert {
    condition     = output.raw_events_visibility_timeout_seconds == 540
    error_message = "The raw-events queue's visibility timeout must be 6 x the processor's timeout."
  }

  assert {
    condition     = output.processor_event_source.queue_arn == "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events"
    error_message = "The processor must consume the raw-events queue (not the DLQ)."
  }

  assert {
    condition     = output.processor_event_source.enabled && output.processor_event_source.report_batch_item_failures
    error_message = "The processor's mapping must be enabled by default and report partial batch failures."
  }

  assert {
    condition     = output.processor_function_name == "imgpipe-test-image_processor"
    error_message = "The processor must be deployed under the environment prefix."
  }

  assert {
    condition     = length(output.processing_alarm_names) == 3
    error_message = "The processing path must have its DLQ, backlog and error alarms."
  }
}

run "kafka_ingestion_is_off_by_default_and_wired_to_the_raw_prefix_when_configured" {
  command = plan

  variables {
    waf_enabled = false
    kafka = {
      type               = "msk"
      cluster_arn        = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe"
      subnet_ids         = ["subnet-0aaa"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
  }

  assert {
    condition     = output.kafka_event_source.function_name == "imgpipe-test-kafka_ingest" && output.kafka_event_source.mapping_created
    error_message = "A configured Kafka source must deploy kafka_ingest with its event source mapping."
  }

  assert {
    condition     = module.ingest_kafka[0].event_source.topic == "camera-images"
    error_message = "The pipeline must pass the Kafka source through unchanged."
  }
}

run "a_new_msk_cluster_for_non_production_may_use_the_environment_key_through_msk" {
  command = plan

  variables {
    waf_enabled = false
    kafka = {
      type               = "msk"
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe"
      subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
    kafka_new_msk_cluster = { partitions = 6 }
  }

  override_resource {
    target          = module.ingest_kafka[0].aws_msk_cluster.this
    override_during = plan
    values = {
      arn = "arn:aws:kafka:us-east-1:123456789012:cluster/imgpipe-test-images/99999999-8888-7777-6666-555555555555-1"
    }
  }

  assert {
    condition     = length(module.ingest_kafka[0].msk_cluster_arn) > 0 && strcontains(module.ingest_kafka[0].event_source.cluster_arn, ":cluster/imgpipe-test-images/")
    error_message = "The pipeline must create the cluster and consume it."
  }

  assert {
    condition = anytrue([
      for s in jsondecode(module.kms.key_policy).Statement :
      contains(try(s.Condition.StringEquals["kms:ViaService"], []), "kafka.us-east-1.amazonaws.com")
    ])
    error_message = "MSK must be allowed to use the key (via the kafka service) for the cluster's storage."
  }
}

run "refuses_packages_built_for_another_architecture" {
  command = plan

  variables {
    lambda_architecture = "x86_64" # while testing/lambda holds arm64 packages
  }

  expect_failures = [terraform_data.lambda_packages_match_architecture]
}

run "every_function_and_every_queue_is_alarmed_and_every_alarm_notifies_the_topic" {
  command = plan

  variables {
    waf_enabled = false
    kafka = {
      type               = "msk"
      cluster_arn        = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe"
      subnet_ids         = ["subnet-0aaa"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
  }

  assert {
    condition = (
      toset(keys(output.observability.function_alarms)) == toset(["upload_api", "api_authorizer", "image_processor", "retention_audit", "metadata_export", "kafka_ingest"]) &&
      alltrue([for k, a in output.observability.function_alarms : a.throttles != null && a.duration_p99 != null]) &&
      alltrue([for k, a in output.observability.function_alarms : a.errors != null if !contains(["image_processor", "retention_audit"], k)])
    )
    error_message = "Every deployed function has throttles and p99-duration alarms, and an errors alarm (its module's own for the processor and the audit)."
  }

  assert {
    condition     = toset(keys(output.observability.queue_alarms)) == toset(["imgpipe-test-raw-events", "imgpipe-test-raw-events-dlq", "imgpipe-test-kafka-rejects", "imgpipe-test-export-failures"])
    error_message = "Every queue of the pipeline has the alarm that watches its depth or age."
  }
}

# The data perimeter (docs/security.md): who may reach each bucket's objects and use the key, by role ARN built
# from the role names; scripts/ops/authz evaluates the same documents against the matrix on the deployed stack.
run "the_perimeter_names_exactly_each_buckets_roles_and_the_keys_users" {
  command = plan

  variables {
    waf_enabled            = false
    analyst_principal_arns = ["arn:aws:iam::123456789012:root"]
    perimeter = {
      break_glass_role_arn   = "arn:aws:iam::123456789012:role/incident-response"
      trail_reader_role_arns = ["arn:aws:iam::123456789012:role/auditor"]
    }
  }

  assert {
    condition = alltrue([
      for name, doc in output.authorization.bucket_policies : contains(one([
        for s in jsondecode(doc).Statement : s.Condition.ArnNotEquals["aws:PrincipalArn"] if s.Sid == "DenyDataAccessOutsideThePerimeter"
      ]), "arn:aws:iam::123456789012:role/incident-response")
    ])
    error_message = "The break-glass role passes every bucket's perimeter."
  }

  assert {
    condition = one([
      for s in jsondecode(output.authorization.bucket_policies["imgpipe-test-raw-123456789012"]).Statement : s.Condition.ArnNotEquals["aws:PrincipalArn"] if s.Sid == "DenyDataAccessOutsideThePerimeter"
      ]) == [
      "arn:aws:iam::123456789012:role/imgpipe-test-upload_api",
      "arn:aws:iam::123456789012:role/imgpipe-test-image_processor",
      "arn:aws:iam::123456789012:role/imgpipe-test-retention_audit",
      "arn:aws:iam::123456789012:role/imgpipe-test-malware-protection",
      "arn:aws:iam::123456789012:role/incident-response",
    ]
    error_message = "Raw objects: the upload API, the processor, the audit, GuardDuty's scan and break-glass only (no Kafka source here)."
  }

  assert {
    condition = one([
      for s in jsondecode(output.authorization.bucket_policies["imgpipe-test-analytics-123456789012"]).Statement : s.Condition.ArnNotEquals["aws:PrincipalArn"] if s.Sid == "DenyDataAccessOutsideThePerimeter"
      ]) == [
      "arn:aws:iam::123456789012:role/imgpipe-test-metadata_export",
      "arn:aws:iam::123456789012:role/imgpipe-test-retention_audit",
      "arn:aws:iam::123456789012:role/imgpipe-test-analyst",
      "arn:aws:iam::123456789012:role/incident-response",
    ]
    error_message = "Exports: the export function, the audit, the analyst and break-glass only."
  }

  assert {
    condition = contains(one([
      for s in jsondecode(output.authorization.bucket_policies["imgpipe-test-trail-123456789012"]).Statement : s.Condition.ArnNotEquals["aws:PrincipalArn"] if s.Sid == "DenyDataAccessOutsideThePerimeter"
    ]), "arn:aws:iam::123456789012:role/auditor")
    error_message = "Trail readers reach the trail bucket."
  }

  assert {
    condition = toset(one([
      for s in jsondecode(module.kms.key_policy).Statement : s.Condition.ArnEquals["aws:PrincipalArn"] if s.Sid == "UseByThePipelinesRolesThroughItsServices"
      ])) == toset(concat(
      [for r in ["upload_api", "api_authorizer", "image_processor", "retention_audit", "metadata_export", "analyst", "malware-protection"] : "arn:aws:iam::123456789012:role/imgpipe-test-${r}"],
      ["arn:aws:iam::123456789012:role/incident-response"],
    ))
    error_message = "The key's users are the pipeline's roles, the analyst, GuardDuty's scan and break-glass: nobody else of the account."
  }

  assert {
    condition = one([
      for s in jsondecode(module.kms.key_policy).Statement : s.Condition.ArnEquals["aws:PrincipalArn"] if s.Sid == "DeployersCreateWhatTheKeyEncrypts"
    ]) == ["arn:aws:iam::123456789012:role/imgpipe-test-cicd-plan", "arn:aws:iam::123456789012:role/imgpipe-test-cicd-apply", "arn:aws:iam::123456789012:role/incident-response"]
    error_message = "By default the environment's pipeline plan and apply roles deploy."
  }
}

run "web_users_can_be_turned_off" {
  command = plan

  variables {
    waf_enabled = false
    web_users   = { enabled = false }
  }

  assert {
    condition     = output.web_users == null
    error_message = "Without web users there is no pool (the authorizer then gets no issuer: modules/ingest_api tests)."
  }
}

run "split_mode_passes_large_images_through_their_own_queue_to_the_workers" {
  command = plan

  variables {
    waf_enabled            = false
    processing_mode        = "split"
    large_image_min_bytes  = 2097152
    large_image_min_pixels = 30000000
    workers = {
      image           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/imgpipe-worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      repository_arn  = "arn:aws:ecr:us-east-1:123456789012:repository/imgpipe-worker"
      vpc_id          = "vpc-0123"
      subnet_ids      = ["subnet-a", "subnet-b"]
      route_table_ids = ["rtb-a"]
      max_tasks       = 4
    }
  }

  assert {
    condition = (
      module.processing.event_source.queue_arn == "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events" &&
      module.large_images_queue[0].name == "imgpipe-test-large-images" &&
      module.large_images_queue[0].dlq_name == "imgpipe-test-large-images-dlq"
    )
    error_message = "In split mode the function still consumes the raw events, and large images get their own queue and DLQ."
  }

  assert {
    condition     = output.processing.workers.queue_url == module.large_images_queue[0].url && module.processing.function_environment.LARGE_IMAGE_QUEUE_URL == module.large_images_queue[0].url
    error_message = "The function passes large images to the queue the workers consume."
  }

  assert {
    condition = (
      module.processing.function_environment.LARGE_IMAGE_MIN_BYTES == "2097152" &&
      module.processing.function_environment.LARGE_IMAGE_MIN_PIXELS == "30000000" &&
      output.processing.large_image_min_pixels == 30000000
    )
    error_message = "Both thresholds reach the function that routes, and the processing output."
  }

  assert {
    condition     = contains([for e in jsondecode(module.workers[0].task_definition.container_definitions)[0].environment : e.value if e.name == "QUEUE_URL"], module.large_images_queue[0].url)
    error_message = "The workers' tasks consume the large-image queue."
  }

  assert {
    condition     = toset(keys(module.workers[0].queue_alarms)) == toset(["imgpipe-test-large-images", "imgpipe-test-large-images-dlq"])
    error_message = "The large-image queue and its DLQ are alarmed and on the dashboard."
  }

  assert {
    condition = alltrue([
      for bucket in ["imgpipe-test-raw-123456789012", "imgpipe-test-processed-123456789012"] : contains(one([
        for s in jsondecode(output.authorization.bucket_policies[bucket]).Statement : s.Condition.ArnNotEquals["aws:PrincipalArn"] if s.Sid == "DenyDataAccessOutsideThePerimeter"
      ]), "arn:aws:iam::123456789012:role/imgpipe-test-workers-task")
    ])
    error_message = "The workers' task role passes the raw and processed buckets' perimeter (it does what the processor does)."
  }

  assert {
    condition = contains(one([
      for s in jsondecode(module.kms.key_policy).Statement : s.Condition.ArnEquals["aws:PrincipalArn"] if s.Sid == "UseByThePipelinesRolesThroughItsServices"
    ]), "arn:aws:iam::123456789012:role/imgpipe-test-workers-task")
    error_message = "The workers' task role may use the environment's key through its services."
  }
}

run "containers_mode_lets_the_workers_consume_the_raw_events_queue" {
  command = plan

  variables {
    waf_enabled     = false
    processing_mode = "containers"
    workers = {
      image           = "123456789012.dkr.ecr.us-east-1.amazonaws.com/imgpipe-worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      repository_arn  = "arn:aws:ecr:us-east-1:123456789012:repository/imgpipe-worker"
      vpc_id          = "vpc-0123"
      subnet_ids      = ["subnet-a", "subnet-b"]
      route_table_ids = ["rtb-a"]
    }
  }

  assert {
    condition     = module.processing.event_source == null && length(module.large_images_queue) == 0 && length(module.workers) == 1 && module.workers[0].queue_alarms == {}
    error_message = "In containers mode the function has no trigger, there is no second queue, and the raw-events queue keeps its one set of alarms."
  }

  assert {
    condition     = contains([for e in jsondecode(module.workers[0].task_definition.container_definitions)[0].environment : e.value if e.name == "QUEUE_URL"], "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-raw-events")
    error_message = "The workers consume the raw-events queue."
  }
}
