# Everything imgpipe needs for one environment. Environments (envs/*) call only this module and pass only what
# differs between them; every secure setting is the default here, and relaxations are explicit in the caller.
# Later capabilities (API, ingest, processing, analytics, security, observability) are wired here, once.

data "aws_region" "current" {}
data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

module "kms" {
  source = "../kms"

  name_prefix             = var.name_prefix
  deletion_window_in_days = var.kms_deletion_window_in_days
  # A new MSK cluster encrypts its storage with the environment's key through a grant made via MSK; the analyst
  # and QuickSight query the exports through Athena and Glue.
  additional_via_services = concat(
    var.kafka_new_msk_cluster == null ? [] : ["kafka"],
    length(var.analyst_principal_arns) > 0 || var.quicksight != null ? ["athena", "glue"] : [],
  )
  user_role_arns        = local.key_user_role_arns
  mac_user_role_arns    = [local.function_role_arns["upload_api"]]
  deployer_role_arns    = local.deployer_role_arns
  break_glass_role_arn  = var.perimeter.break_glass_role_arn
  cloudtrail_trail_name = var.security.create_trail ? var.name_prefix : null
  # Every alarm of the environment is named <name_prefix>-… and notifies the encrypted alarm topic.
  alarm_name_prefix = "${var.name_prefix}-"
  tags              = var.tags
}

module "storage" {
  source = "../storage"

  name_prefix                      = var.name_prefix
  kms_key_arn                      = module.kms.key_arn
  retention_days                   = var.retention_days
  enforce_bucket_policy            = var.enforce_bucket_policy
  force_destroy                    = var.force_destroy
  dlq_redrive_allow_policy_enabled = var.dlq_redrive_allow_policy_enabled
  # AWS's guidance for SQS event sources: 6 x the function timeout, so a batch in flight is never redelivered.
  queue_visibility_timeout_seconds = 6 * var.processor_timeout_seconds
  # Metadata exports and Athena results: same encryption, policy and lifecycle as the image buckets. The trail's
  # files hold the image buckets' object keys (S3 data events): the same window bounds them.
  extra_buckets                 = concat(["analytics", "athena-results"], var.security.create_trail ? ["trail"] : [])
  cloudtrail_writer             = var.security.create_trail ? { bucket_key = "trail", trail_name = var.name_prefix } : null
  raw_eventbridge_notifications = var.security.malware_protection
  object_access_role_arns       = local.object_access_role_arns
  break_glass_role_arn          = var.perimeter.break_glass_role_arn
  cors_allowed_origins          = local.web_origins
  tags                          = var.tags
}

module "metadata" {
  source = "../metadata"

  name_prefix                 = var.name_prefix
  kms_key_arn                 = module.kms.key_arn
  retention_days              = var.retention_days
  deletion_protection_enabled = var.deletion_protection_enabled
  tags                        = var.tags
}

locals {
  # Written by `make package` (scripts/deploy/package.py): per function its zip, base64 SHA-256 and architecture.
  lambda_manifest = jsondecode(file("${var.lambda_dist_dir}/manifest.json"))
}

module "identity" {
  source = "../identity"
  count  = var.web_users.enabled ? 1 : 0

  name_prefix            = var.name_prefix
  callback_urls          = concat(var.web_users.callback_urls, local.web_app_urls)
  logout_urls            = concat(var.web_users.logout_urls, local.web_app_urls)
  domain_prefix          = local.hosted_ui_prefix
  user_pool_tier         = var.web_users.user_pool_tier
  set_user_pool_tier     = var.web_users.set_user_pool_tier
  mfa_configuration      = var.web_users.mfa_configuration
  access_token_minutes   = var.web_users.access_token_minutes
  refresh_token_hours    = var.web_users.refresh_token_hours
  allow_password_auth    = var.web_users.allow_password_auth
  jwks_endpoint_override = var.web_users.jwks_endpoint_override
  deletion_protection    = var.deletion_protection_enabled
  tags                   = var.tags
}

locals {
  # The app's own URL joins the origins the API and the raw bucket answer CORS for, and the hosted UI's callbacks.
  web_app_urls = var.web_app.enabled ? ["${module.web[0].url}/"] : []
  # No distinct(): over a URL known only after apply it would make the list's length unknown, and the CORS
  # resources counted on it unplannable.
  web_origins = concat(var.web_origins, [for u in local.web_app_urls : trimsuffix(u, "/")])
  # The hosted UI prefix must be unique in the region: the environment's name and a digest of the account (not the
  # account id itself, which would then be in every sign-in URL).
  hosted_ui_prefix = var.web_users.domain_prefix != null ? var.web_users.domain_prefix : (var.web_app.enabled ? "${var.name_prefix}-${substr(sha256(data.aws_caller_identity.current.account_id), 0, 10)}" : null)
}

module "web" {
  source = "../web"
  count  = var.web_app.enabled ? 1 : 0

  name_prefix      = var.name_prefix
  source_dir       = "${path.module}/../../../web"
  api_url          = module.ingest_api.base_url
  api_origin       = module.ingest_api.origin
  upload_origin    = "https://${module.storage.raw_bucket_name}.s3.${data.aws_region.current.name}.amazonaws.com"
  image_origin     = "https://${module.storage.processed_bucket_name}.s3.${data.aws_region.current.name}.amazonaws.com"
  user_pool_id     = module.identity[0].user_pool_id
  client_id        = module.identity[0].web_client_id
  hosted_ui_domain = module.identity[0].hosted_ui_domain
  price_class      = var.web_app.price_class
  web_acl_arn      = var.web_app.web_acl_arn
  force_destroy    = var.web_app.force_destroy
  tags             = var.tags
}

module "ingest_api" {
  source = "../ingest_api"

  name_prefix                     = var.name_prefix
  retention_days                  = var.retention_days
  kms_key_arn                     = module.kms.key_arn
  raw_bucket_name                 = module.storage.raw_bucket_name
  raw_bucket_arn                  = module.storage.raw_bucket_arn
  raw_prefix                      = module.storage.raw_prefix
  processed_bucket_name           = module.storage.processed_bucket_name
  processed_bucket_arn            = module.storage.processed_bucket_arn
  processed_prefix                = module.processing.processed_prefix
  table_name                      = module.metadata.table_name
  table_arn                       = module.metadata.table_arn
  cursor_key_arn                  = module.kms.mac_key_arn
  web_users                       = one(module.identity[*].jwt)
  quotas                          = var.api_quotas
  cors_allowed_origins            = local.web_origins
  upload_api_reserved_concurrency = var.api_reserved_concurrency
  api_keys_cache_seconds          = var.api_keys_cache_seconds
  lambda_architecture             = var.lambda_architecture
  functions = {
    for name in ["upload_api", "api_authorizer"] : name => {
      filename         = "${var.lambda_dist_dir}/${local.lambda_manifest[name].zip}"
      source_code_hash = local.lambda_manifest[name].source_code_hash
    }
  }
  waf_enabled                            = var.waf_enabled
  set_binary_media_types                 = var.set_binary_media_types
  api_keys_secret_recovery_window_days   = var.api_keys_secret_recovery_window_days
  api_keys_deletion_protection           = var.deletion_protection_enabled
  manage_apigateway_account_logging_role = var.manage_apigateway_account_logging_role
  custom_domain                          = var.api_custom_domain
  tags                                   = var.tags
}

module "processing" {
  source = "../processing"

  name_prefix                      = var.name_prefix
  retention_days                   = var.retention_days
  kms_key_arn                      = module.kms.key_arn
  raw_bucket_name                  = module.storage.raw_bucket_name
  raw_bucket_arn                   = module.storage.raw_bucket_arn
  raw_prefix                       = module.storage.raw_prefix
  processed_bucket_name            = module.storage.processed_bucket_name
  processed_bucket_arn             = module.storage.processed_bucket_arn
  table_name                       = module.metadata.table_name
  table_arn                        = module.metadata.table_arn
  queue_arn                        = module.storage.raw_events_queue_arn
  queue_name                       = module.storage.raw_events_queue_name
  queue_visibility_timeout_seconds = module.storage.raw_events_visibility_timeout_seconds
  dlq_name                         = module.storage.raw_events_dlq_name
  lambda_architecture              = var.lambda_architecture
  function = {
    filename         = "${var.lambda_dist_dir}/${local.lambda_manifest["image_processor"].zip}"
    source_code_hash = local.lambda_manifest["image_processor"].source_code_hash
  }
  timeout_seconds       = var.processor_timeout_seconds
  reserved_concurrency  = var.processor_reserved_concurrency
  image_budget_seconds  = var.processor_image_budget_seconds
  trigger_enabled       = var.processor_trigger_enabled
  trigger_through_alias = var.processor_trigger_through_alias
  lambda_consumes_queue = var.processing_mode != "containers"
  large_images = var.processing_mode != "split" ? null : {
    queue_arn  = module.large_images_queue[0].arn
    queue_url  = module.large_images_queue[0].url
    min_bytes  = var.large_image_min_bytes
    min_pixels = var.large_image_min_pixels
  }
  malware_scan  = module.security.malware_scan
  alarm_actions = [module.observability.alarm_topic_arn]
  tags          = var.tags
}

# The split mode's queue: what the function passes on, what the workers consume and scale on.
module "large_images_queue" {
  source = "../queue"
  count  = var.processing_mode == "split" ? 1 : 0

  name                             = "${var.name_prefix}-large-images"
  kms_key_arn                      = module.kms.key_arn
  retention_seconds                = var.retention_days * 86400
  visibility_timeout_seconds       = local.worker_visibility_seconds
  dlq_redrive_allow_policy_enabled = var.dlq_redrive_allow_policy_enabled
  tags                             = var.tags
}

locals {
  # The workers extend a message's visibility while they work on it; this only bounds how long a message of a
  # worker that died stays hidden.
  worker_visibility_seconds = 120
  # The pipeline's image stage names the image and the repository (TF_VAR_worker_*) unless var.workers does;
  # modules/workers validates what results.
  workers_image          = var.processing_mode == "lambda" ? null : try(coalesce(var.worker_image, var.workers.image), null)
  workers_repository_arn = var.processing_mode == "lambda" ? null : try(coalesce(var.worker_repository_arn, var.workers.repository_arn), null)
  # The queue the workers consume: their own in split mode, the raw-events queue in containers mode.
  workers_queue = {
    lambda = null
    containers = {
      arn  = module.storage.raw_events_queue_arn, url = module.storage.raw_events_queue_url
      name = module.storage.raw_events_queue_name, dlq_name = null
    }
    split = var.processing_mode != "split" ? null : {
      arn  = module.large_images_queue[0].arn, url = module.large_images_queue[0].url
      name = module.large_images_queue[0].name, dlq_name = module.large_images_queue[0].dlq_name
    }
  }[var.processing_mode]
}

module "workers" {
  source = "../workers"
  count  = var.processing_mode == "lambda" ? 0 : 1

  name_prefix                = var.name_prefix
  image                      = local.workers_image
  repository_arn             = local.workers_repository_arn
  architecture               = var.workers.architecture
  cpu                        = var.workers.cpu
  memory                     = var.workers.memory
  queue_arn                  = local.workers_queue.arn
  queue_url                  = local.workers_queue.url
  queue_name                 = local.workers_queue.name
  dlq_name                   = local.workers_queue.dlq_name
  kms_key_arn                = module.kms.key_arn
  processor_statements       = module.processing.processor_statements
  environment                = module.processing.environment
  vpc_id                     = var.workers.vpc_id
  subnet_ids                 = var.workers.subnet_ids
  route_table_ids            = var.workers.route_table_ids
  min_tasks                  = var.workers.min_tasks
  max_tasks                  = var.workers.max_tasks
  seconds_per_image          = var.workers.seconds_per_image
  acceptable_latency_seconds = var.workers.acceptable_latency_seconds
  spot_weight                = var.workers.spot_weight
  fargate_weight             = var.workers.fargate_weight
  fargate_base               = var.workers.fargate_base
  poll_wait_seconds          = var.workers.poll_wait_seconds
  log_retention_days         = var.retention_days
  alarm_actions              = [module.observability.alarm_topic_arn]
  tags                       = var.tags
}

module "ingest_kafka" {
  source = "../ingest_kafka"
  count  = var.kafka == null ? 0 : 1

  name_prefix         = var.name_prefix
  retention_days      = var.retention_days
  kms_key_arn         = module.kms.key_arn
  raw_bucket_name     = module.storage.raw_bucket_name
  raw_bucket_arn      = module.storage.raw_bucket_arn
  raw_prefix          = module.storage.raw_prefix
  table_name          = module.metadata.table_name
  table_arn           = module.metadata.table_arn
  lambda_architecture = var.lambda_architecture
  function = {
    filename         = "${var.lambda_dist_dir}/${local.lambda_manifest["kafka_ingest"].zip}"
    source_code_hash = local.lambda_manifest["kafka_ingest"].source_code_hash
  }
  kafka                       = var.kafka
  new_msk_cluster             = var.kafka_new_msk_cluster
  create_vpc_endpoints        = var.kafka_create_vpc_endpoints
  create_event_source_mapping = var.kafka_create_event_source_mapping
  alarm_actions               = [module.observability.alarm_topic_arn]
  tags                        = var.tags
}

module "analytics" {
  source = "../analytics"

  name_prefix           = var.name_prefix
  retention_days        = var.retention_days
  kms_key_arn           = module.kms.key_arn
  analytics_bucket_name = module.storage.bucket_names["analytics"]
  results_bucket_name   = module.storage.bucket_names["athena-results"]
  table_stream_arn      = module.metadata.stream_arn
  lambda_architecture   = var.lambda_architecture
  function = {
    filename         = "${var.lambda_dist_dir}/${local.lambda_manifest["metadata_export"].zip}"
    source_code_hash = local.lambda_manifest["metadata_export"].source_code_hash
  }
  create_event_source_mapping = var.analytics_create_event_source_mapping
  analyst_principal_arns      = var.analyst_principal_arns
  quicksight                  = var.quicksight
  alarm_actions               = [module.observability.alarm_topic_arn]
  tags                        = var.tags
}

module "retention" {
  source = "../retention"

  name_prefix               = var.name_prefix
  retention_days            = var.retention_days
  grace_hours               = var.retention_grace_hours
  schedule_interval_minutes = var.retention_audit_interval_minutes
  kms_key_arn               = module.kms.key_arn
  raw_bucket_name           = module.storage.raw_bucket_name
  processed_bucket_name     = module.storage.processed_bucket_name
  table_name                = module.metadata.table_name
  table_arn                 = module.metadata.table_arn
  # The exports and Athena's results are image-derived too: the audit bounds them like the image buckets.
  extra_bucket_names  = [for k, name in module.storage.bucket_names : name if !contains(["raw", "processed"], k)]
  lambda_architecture = var.lambda_architecture
  function = {
    filename         = "${var.lambda_dist_dir}/${local.lambda_manifest["retention_audit"].zip}"
    source_code_hash = local.lambda_manifest["retention_audit"].source_code_hash
  }
  trust_event_time = var.retention_trust_event_time
  alarm_actions    = [module.observability.alarm_topic_arn]
  tags             = var.tags
}

module "security" {
  source = "../security"

  name_prefix       = var.name_prefix
  kms_key_arn       = module.kms.key_arn
  create_trail      = var.security.create_trail
  trail_bucket_name = var.security.create_trail ? module.storage.bucket_names["trail"] : null
  # Object-level calls on every image-derived bucket but the trail's own (which would log its own deliveries).
  s3_data_event_bucket_arns = [for k, arn in module.storage.bucket_arns : arn if k != "trail"]
  lambda_data_event_function_arns = [
    for name in local.deployed_functions :
    "arn:${data.aws_partition.current.partition}:lambda:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:function:${var.name_prefix}-${name}"
  ]
  create_guardduty_detector = var.security.create_guardduty_detector
  # New raw objects (API uploads, Kafka inline images) and Kafka claim-check staging objects.
  malware_protection = var.security.malware_protection ? {
    bucket_name     = module.storage.raw_bucket_name
    bucket_arn      = module.storage.raw_bucket_arn
    object_prefixes = distinct([module.storage.raw_prefix, "staging/"])
  } : null
  create_access_analyzer = var.security.create_access_analyzer
  tags                   = var.tags
}

module "observability" {
  source = "../observability"

  name_prefix = var.name_prefix
  kms_key_arn = module.kms.key_arn
  # Every deployed function (the precondition below keeps this list and the packages in step).
  functions = merge(
    {
      for k, timeout in module.ingest_api.function_timeouts : k => { name = module.ingest_api.function_names[k], timeout_seconds = timeout }
    },
    {
      image_processor = { name = module.processing.function_name, timeout_seconds = module.processing.timeout_seconds, own_errors_alarm = true }
      retention_audit = { name = module.retention.function_name, timeout_seconds = module.retention.timeout_seconds, own_errors_alarm = true }
      metadata_export = { name = module.analytics.function_name, timeout_seconds = module.analytics.timeout_seconds }
    },
    var.kafka == null ? {} : {
      kafka_ingest = { name = module.ingest_kafka[0].function_name, timeout_seconds = module.ingest_kafka[0].timeout_seconds }
    },
  )
  api = { name = module.ingest_api.rest_api_name, stage = module.ingest_api.stage_name }
  # The queues each module alarms on: one list, so the dashboard and the alarms cannot disagree.
  queue_names         = keys(local.queue_alarms)
  thresholds          = var.observability.thresholds
  alarm_emails        = var.observability.alarm_emails
  extra_alarm_actions = var.observability.extra_alarm_actions
  tags                = var.tags
}

locals {
  account_root_prefix = "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role"
  # Role ARNs built from the names the modules give their roles (<name_prefix>-<function>, -analyst,
  # -malware-protection), not read from the roles: the key and bucket policies that name them are then known at
  # plan time (the reviewer sees them) and no role waits for the key it is named in. The precondition below holds
  # the names to the roles' real ARNs at apply; scripts/ops/authz proves the edges on the deployed documents.
  function_role_arns = { for name in local.deployed_functions : name => "${local.account_root_prefix}/${var.name_prefix}-${name}" }
  analyst_role_arn   = length(var.analyst_principal_arns) > 0 ? "${local.account_root_prefix}/${var.name_prefix}-analyst" : null
  malware_role_arn   = var.security.malware_protection ? "${local.account_root_prefix}/${var.name_prefix}-malware-protection" : null
  # The container workers' task role (modules/workers) does what image_processor does, with the same grants.
  workers_role_arn = var.processing_mode == "lambda" ? null : "${local.account_root_prefix}/${var.name_prefix}-workers-task"
  deployed_role_arns = merge(
    module.ingest_api.function_role_arns,
    {
      image_processor = module.processing.role_arn
      retention_audit = module.retention.role_arn
      metadata_export = module.analytics.role_arn
      analyst         = module.analytics.analyst_role_arn
      malware         = module.security.malware_protection_role_arn
      workers         = one(module.workers[*].task_role_arn)
    },
    var.kafka == null ? {} : { kafka_ingest = module.ingest_kafka[0].role_arn },
  )
  quicksight_role_arn = var.quicksight == null ? null : coalesce(
    var.quicksight.service_role_arn, "${local.account_root_prefix}/service-role/aws-quicksight-service-role-v0"
  )
  readers_of_exports = compact([local.analyst_role_arn, local.quicksight_role_arn])
  # Who may reach each bucket's objects (docs/security.md: the perimeter; scripts/ops/authz/matrix.yaml: the edges).
  object_access_role_arns = {
    raw = compact([
      local.function_role_arns["upload_api"], try(local.function_role_arns["kafka_ingest"], null),
      local.function_role_arns["image_processor"], local.function_role_arns["retention_audit"], local.malware_role_arn,
      local.workers_role_arn,
    ])
    processed = compact([
      local.function_role_arns["image_processor"], local.function_role_arns["upload_api"],
      local.function_role_arns["retention_audit"], local.workers_role_arn,
    ])
    analytics        = concat([local.function_role_arns["metadata_export"], local.function_role_arns["retention_audit"]], local.readers_of_exports)
    "athena-results" = concat([local.function_role_arns["retention_audit"]], local.readers_of_exports)
    trail            = concat([local.function_role_arns["retention_audit"]], var.perimeter.trail_reader_role_arns)
  }
  key_user_role_arns = distinct(compact(concat(
    values(local.function_role_arns), local.readers_of_exports, [local.malware_role_arn, local.workers_role_arn]
  )))
  deployer_role_arns = coalesce(var.perimeter.deployer_role_arns, [
    "${local.account_root_prefix}/${var.name_prefix}-cicd-plan", "${local.account_root_prefix}/${var.name_prefix}-cicd-apply",
  ])

  # Every queue of the pipeline with the alarm its module keeps on it.
  queue_alarms = merge(
    module.processing.queue_alarms,
    var.processing_mode == "split" ? module.workers[0].queue_alarms : {},
    module.analytics.queue_alarms,
    var.kafka == null ? {} : module.ingest_kafka[0].queue_alarms,
  )
  deployed_functions = concat(["upload_api", "api_authorizer", "image_processor", "retention_audit", "metadata_export"], var.kafka == null ? [] : ["kafka_ingest"])
}

# Native wheels (Pillow, pydantic-core) only load on the architecture they were packaged for.
resource "terraform_data" "lambda_packages_match_architecture" {
  input = var.lambda_architecture

  lifecycle {

    precondition {
      condition     = alltrue([for name in local.deployed_functions : try(local.lambda_manifest[name].arch, "") == var.lambda_architecture])
      error_message = "The packages in ${var.lambda_dist_dir} are not all built for ${var.lambda_architecture}: run `make package ARCH=${var.lambda_architecture}`."
    }
  }
}

# The key and bucket policies name the roles by ARNs built from their names (see locals): checked against the
# roles themselves once they exist, so a renamed role fails the apply instead of silently losing its access.
resource "terraform_data" "roles_named_in_policies" {
  input = local.deployed_role_arns

  lifecycle {
    precondition {
      condition = alltrue([
        for k, arn in local.deployed_role_arns :
        arn == merge(local.function_role_arns, { analyst = local.analyst_role_arn, malware = local.malware_role_arn, workers = local.workers_role_arn })[k]
      ])
      error_message = "A role's ARN differs from the one the key and bucket policies name: keep the roles named <name_prefix>-<function>, <name_prefix>-analyst, <name_prefix>-malware-protection and <name_prefix>-workers-task."
    }
  }
}
