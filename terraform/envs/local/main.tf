# Secure module defaults, except the relaxations below: each one is forced by the emulator or by the stack being
# disposable (tests/local.tftest.hcl asserts that these, and only these, are relaxed).
module "pipeline" {
  source = "../../modules/pipeline"

  name_prefix         = "${var.project}-${var.environment}"
  retention_days      = var.retention_days
  lambda_architecture = var.lambda_architecture
  lambda_dist_dir     = coalesce(var.lambda_dist_dir, "${path.root}/../../../dist/lambda")
  web_origins         = var.web_origins

  # The processing mode under test (split by default: every run exercises both the function and the workers).
  processing_mode        = var.processing_mode
  large_image_min_bytes  = var.large_image_min_bytes
  large_image_min_pixels = var.large_image_min_pixels
  workers = local.with_workers ? {
    image           = "${data.aws_caller_identity.current.account_id}.dkr.ecr.${var.region}.amazonaws.com/${aws_ecr_repository.worker[0].name}@sha256:${local.processor_digest}"
    repository_arn  = aws_ecr_repository.worker[0].arn
    vpc_id          = aws_vpc.workers[0].id
    subnet_ids      = aws_subnet.workers[*].id
    route_table_ids = aws_route_table.workers[*].id
    min_tasks       = var.worker_tasks
    max_tasks       = max(var.worker_tasks, 10)
    # The local worker gives its tasks 5 s between SIGTERM and SIGKILL when `make up`/`make down` restart it
    # (ECS gives the stopTimeout), and a long poll cannot be cut short: 1 s receives let an idle task drain in time.
    poll_wait_seconds = 1
  } : null

  # Emulator keys are thrown away with the emulator; 7 (the AWS minimum) keeps local teardown short.
  kms_deletion_window_in_days = 7
  # moto does not evaluate bucket-policy conditions: a deny-non-TLS statement would deny every object call.
  # staging/prod keep the policy (module default true) and terraform test asserts it there.
  enforce_bucket_policy = false
  # Local buckets hold only test data and are recreated freely; lets `terraform destroy` empty them.
  force_destroy = true
  # moto does not implement the RedriveAllowPolicy queue attribute: the provider would wait for it forever.
  dlq_redrive_allow_policy_enabled = false
  # The local table is disposable (emulator state); protection would only block `terraform destroy`.
  deletion_protection_enabled = false
  # moto ignores binaryMediaTypes on CreateRestApi and stores "" on update: the plan would never be clean.
  # The local gateway takes the media types from the module output instead.
  set_binary_media_types = false
  # The emulator's secrets vanish with it; no recovery window to wait out on `terraform destroy`.
  api_keys_secret_recovery_window_days = 0
  # Stricter, not looser: a revoked key stops working within 5 s instead of 60, so the revocation test over HTTP
  # waits 5 s (the mechanism is the same; the 60 s bound is the module default, asserted in modules/ingest_api).
  api_keys_cache_seconds = 5
  # An enabled SQS mapping makes moto receive each message itself and try to run the function through Docker,
  # which fails and dead-letters it unprocessed. The local worker (scripts/local/worker.py) runs the mapping.
  processor_trigger_enabled = false
  # moto reports the SQS mapping's FunctionArn as the version the alias resolved to (…:1), not the alias, so a
  # mapping on the alias would show a change on every plan. The local worker runs the source either way.
  processor_trigger_through_alias = false

  # The embedded broker (Tansu) on 127.0.0.1 speaks plaintext: no SCRAM secret to hold locally.
  kafka = {
    type              = "self_managed"
    bootstrap_servers = [var.kafka_bootstrap_servers]
    topic             = "images"
    consumer_group_id = "imgpipe-local-kafka-ingest"
    auth              = "none"
    # Whose images each producer's records are (never the record's own say): make demo's producer, the tests',
    # and records without a source-id (python -m scripts.ops.kafka_produce without --source-id).
    source_tenants = {
      "demo" = "demo-kafka"
      "it"   = "it-kafka"
      "it-*" = "it-kafka"
    }
    default_tenant = "local-kafka"
  }
  # moto refuses Kafka event source mappings; the local worker consumes what the module declares instead.
  kafka_create_event_source_mapping = false
  # Local time travel: the local runtime delivers the audit's scheduled event "N days later" and the audit takes
  # that as its clock (scripts/local/time_travel.py). Off everywhere else: on AWS the audit uses the wall clock.
  retention_trust_event_time = true
  # moto empties a table's stream whenever a mapping is attached (enabled or not: it tries to run the function
  # through Docker on every write). The local worker delivers the stream as the module declares it instead.
  analytics_create_event_source_mapping = false
  # moto holds CloudTrail trails and GuardDuty detectors, but neither Malware Protection plans nor Access
  # Analyzer. Without a scanner the local processor observes scan tags (still refusing THREATS_FOUND) instead of
  # waiting for a verdict nothing would give.
  security = {
    malware_protection     = false
    create_access_analyzer = false
  }

  # moto's user pool serves its JWKS on the emulator, not at the issuer, and does not keep the feature tier (every
  # plan would show it); tests and `make demo` sign users in with a password (USER_PASSWORD_AUTH), where a browser
  # on AWS uses the hosted UI with PKCE.
  web_users = {
    allow_password_auth    = true
    jwks_endpoint_override = var.endpoint_url
    set_user_pool_tier     = false
  }

  # Not a relaxation: two tenants with tiny limits, which the integration tests use up (every other tenant keeps
  # the module's defaults).
  api_quotas = {
    tenants = {
      "quota-probe" = { uploads_per_day = 3, bytes_per_day = 1048576 }
      "rate-probe"  = { requests_per_minute = 5 }
    }
  }

  # Not relaxations: the opt-in principals, so that the authorization matrix (python -m scripts.ops.authz, run by the
  # integration tests) evaluates their edges locally too. The analyst role is assumable by the emulator's account
  # (moto's 123456789012); the break-glass role need not exist: the policies name it by ARN.
  analyst_principal_arns = ["arn:aws:iam::123456789012:root"]
  perimeter = {
    break_glass_role_arn = "arn:aws:iam::123456789012:role/imgpipe-local-break-glass"
  }
}
