variable "name_prefix" {
  description = "Prefix for every resource name, \"<project>-<environment>\" (e.g. \"imgpipe-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "retention_days" {
  description = "Days any image-derived data is kept (1-7): S3 object expiration, raw-events queue and DLQ message retention, DynamoDB PITR window."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7: image-derived data is never kept longer than 7 days."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the Lambda functions: arm64 (cheaper, default) or x86_64. Reserved for the function modules; exported as an output."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period (7-30 days) before the environment key, once scheduled for deletion, is destroyed. Keep 30 outside throw-away environments."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30 && floor(var.kms_deletion_window_in_days) == var.kms_deletion_window_in_days
    error_message = "kms_deletion_window_in_days must be a whole number between 7 and 30."
  }
}

variable "enforce_bucket_policy" {
  description = "Attach the bucket policies that deny non-TLS access, TLS < 1.2 and uploads requesting another encryption or KMS key. Only emulators that cannot evaluate policy conditions (moto) turn it off."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let terraform destroy delete non-empty buckets (all object versions). Only throw-away environments turn it on."
  type        = bool
  default     = false
}

variable "deletion_protection_enabled" {
  description = "Protect the metadata table against deletion. Only throw-away environments turn it off."
  type        = bool
  default     = true
}

variable "dlq_redrive_allow_policy_enabled" {
  description = "Let only the raw-events queue use the DLQ as dead-letter target (redrive-allow policy). Only emulators without RedriveAllowPolicy support (moto) turn it off."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags are merged by the AWS provider)."
  type        = map(string)
  default     = {}
}

variable "lambda_dist_dir" {
  description = "Folder holding the packaged functions (`make package`): <function>.zip and manifest.json with each zip's source_code_hash and architecture."
  type        = string

  validation {
    condition     = length(trimspace(var.lambda_dist_dir)) > 0
    error_message = "lambda_dist_dir must name the packager's output folder (dist/lambda)."
  }
}

variable "waf_enabled" {
  description = "Protect the API stage with the WAFv2 web ACL (managed rules + per-IP rate limit)."
  type        = bool
  default     = true
}

variable "set_binary_media_types" {
  description = "Register image/* as binary media type on the REST API. Only an emulator that cannot hold it (moto) turns this off."
  type        = bool
  default     = true
}

variable "api_keys_secret_recovery_window_days" {
  description = "Days a deleted API-key registry secret stays restorable: 0 (throw-away environments) or 7-30."
  type        = number
  default     = 30
}

variable "manage_apigateway_account_logging_role" {
  description = "Create and register API Gateway's account-wide CloudWatch Logs role (one stack per account and region)."
  type        = bool
  default     = false
}

variable "processor_timeout_seconds" {
  description = "Timeout of image_processor; the raw-events queue's visibility timeout is set to 6 times it."
  type        = number
  default     = 60

  validation {
    condition     = var.processor_timeout_seconds >= 10 && var.processor_timeout_seconds <= 900 && floor(var.processor_timeout_seconds) == var.processor_timeout_seconds
    error_message = "processor_timeout_seconds must be a whole number between 10 and 900."
  }
}

variable "processor_reserved_concurrency" {
  description = "Reserved concurrent executions of image_processor (null = unreserved)."
  type        = number
  default     = null
}

variable "api_reserved_concurrency" {
  description = "Reserved concurrent executions of upload_api (modules/ingest_api upload_api_reserved_concurrency; null = unreserved)."
  type        = number
  default     = null
}

variable "api_keys_cache_seconds" {
  description = "How long api_authorizer caches a key's record (modules/ingest_api api_keys_cache_seconds, 0-60 s): a revoked key keeps working at most this long."
  type        = number
  default     = 60
}

variable "processor_image_budget_seconds" {
  description = "Wall-clock budget of one image in the processor's engine (modules/processing image_budget_seconds)."
  type        = number
  default     = 10
}

variable "processor_trigger_through_alias" {
  description = "Whether the processor's SQS mapping invokes its `live` alias (modules/processing trigger_through_alias). Only envs/local turns it off (an emulator quirk)."
  type        = bool
  default     = true
}

variable "processor_trigger_enabled" {
  description = "Whether the processor's SQS event source mapping is enabled. Only an emulator that would try to run the function itself (moto, through Docker) turns it off; the local worker runs the mapping instead."
  type        = bool
  default     = true
}

variable "processing_mode" {
  description = "Who processes images: lambda (the function alone), containers (ECS Fargate workers consume the raw-events queue; the function stays without a trigger) or split (the function passes objects of large_image_min_bytes or more to the workers' own queue and processes the rest). docs/processing.md says when to choose which."
  type        = string
  default     = "lambda"

  validation {
    condition     = contains(["lambda", "containers", "split"], var.processing_mode)
    error_message = "processing_mode must be lambda, containers or split."
  }
}

variable "large_image_min_bytes" {
  description = "split mode: objects of this many bytes or more go to the container workers (S3's event carries the size, so routing reads nothing)."
  type        = number
  default     = 4194304

  validation {
    condition     = var.large_image_min_bytes >= 1 && floor(var.large_image_min_bytes) == var.large_image_min_bytes
    error_message = "large_image_min_bytes must be a whole number of bytes, at least 1."
  }
}

variable "large_image_min_pixels" {
  description = "split mode: smaller objects whose header states this many pixels or more go to the container workers too (the function reads each one's first 256 KiB: one ranged GET per object). null: the size alone decides."
  type        = number
  default     = null

  validation {
    condition     = var.large_image_min_pixels == null || try(var.large_image_min_pixels >= 1 && floor(var.large_image_min_pixels) == var.large_image_min_pixels, false)
    error_message = "large_image_min_pixels must be a whole number of pixels, at least 1, or null."
  }
}

variable "workers" {
  description = "The container workers of the containers and split modes (modules/workers): the VPC's private subnets and their route tables, the image by digest and its ECR repository unless worker_image and worker_repository_arn give them, and optionally task size, task bounds, the measured seconds per image, the acceptable latency, the Spot/on-demand mix and the receive's long-poll wait."
  type = object({
    image                      = optional(string)
    repository_arn             = optional(string)
    vpc_id                     = string
    subnet_ids                 = list(string)
    route_table_ids            = list(string)
    architecture               = optional(string, "ARM64")
    cpu                        = optional(number, 1024)
    memory                     = optional(number, 2048)
    min_tasks                  = optional(number, 0)
    max_tasks                  = optional(number, 10)
    seconds_per_image          = optional(number, 1.5)
    acceptable_latency_seconds = optional(number, 60)
    spot_weight                = optional(number, 3)
    fargate_weight             = optional(number, 1)
    fargate_base               = optional(number, 0)
    poll_wait_seconds          = optional(number, 20)
  })
  default = null

  # Checked here rather than on processing_mode: a variable's validation waits for every variable it reads, and
  # var.workers is known only once the network it names exists (envs/local creates its VPC in the same apply),
  # so on processing_mode it held back everything that reads the mode, the KMS key among them, by that long.
  validation {
    condition     = var.workers != null || var.processing_mode == "lambda"
    error_message = "processing_mode ${var.processing_mode} runs container workers: give var.workers (image, repository, network)."
  }
}

variable "worker_image" {
  description = "The workers' image by digest as the delivery pipeline's image stage built it (TF_VAR_worker_image); takes precedence over workers.image."
  type        = string
  default     = null
}

variable "worker_repository_arn" {
  description = "The ECR repository the workers pull from, as the delivery pipeline names it (TF_VAR_worker_repository_arn); takes precedence over workers.repository_arn."
  type        = string
  default     = null
}

variable "kafka" {
  description = "The Kafka source of images (see modules/ingest_kafka variable kafka), or null for no Kafka ingestion."
  type = object({
    type              = string
    topic             = string
    consumer_group_id = string
    cluster_arn       = optional(string)
    bootstrap_servers = optional(list(string), [])
    auth              = optional(string, "iam")
    scram_secret_arn  = optional(string)
    # The same attributes as modules/ingest_kafka's: a type that lacked one would drop it on the way there.
    scram_rotation_lambda_arn = optional(string)
    scram_rotation_days       = optional(number, 30)
    subnet_ids                = optional(list(string), [])
    security_group_ids        = optional(list(string), [])
    vpc_id                    = optional(string)
    source_tenants            = optional(map(string), {})
    default_tenant            = optional(string)
  })
  default = null
}

variable "kafka_new_msk_cluster" {
  description = "Create an MSK cluster for the Kafka source (non-production; see modules/ingest_kafka variable new_msk_cluster), or null to consume the cluster named in kafka."
  type = object({
    kafka_version          = optional(string, "3.6.0")
    broker_instance_type   = optional(string, "kafka.t3.small")
    number_of_broker_nodes = optional(number)
    volume_size_gb         = optional(number, 20)
    partitions             = optional(number, 3)
  })
  default = null
}

variable "kafka_create_vpc_endpoints" {
  description = "Create the STS / Lambda / Secrets Manager interface endpoints the Kafka event source's pollers need in a VPC without NAT."
  type        = bool
  default     = true
}

variable "kafka_create_event_source_mapping" {
  description = "Create the Kafka event source mapping. Only an emulator that cannot hold one (moto) turns it off; the local runtime consumes instead."
  type        = bool
  default     = true
}

variable "retention_audit_interval_minutes" {
  description = "How often retention_audit purges what lifecycle/TTL have not deleted yet (modules/retention)."
  type        = number
  default     = 60
}

variable "retention_grace_hours" {
  description = "How far past expiry data may be found before it counts as a RetentionViolation (modules/retention)."
  type        = number
  default     = 48
}

variable "retention_trust_event_time" {
  description = "Let the audit take its clock from the scheduled event (local time travel only; modules/retention)."
  type        = bool
  default     = false
}

variable "analytics_create_event_source_mapping" {
  description = "Create the metadata stream's event source mapping to metadata_export. Only an emulator that mishandles one (moto) turns it off; the local runtime delivers the stream instead."
  type        = bool
  default     = true
}

variable "analyst_principal_arns" {
  description = "IAM principals allowed to assume the read-only analyst role (modules/analytics); empty: no role."
  type        = list(string)
  default     = []
}

variable "quicksight" {
  description = "QuickSight data source + dataset over the analytics workgroup, shared with principal_arn, its row-level security granting each QuickSight group in tenant_groups the tenants listed (modules/analytics); null: none. service_role_arn: the role QuickSight runs Athena as (default the account's aws-quicksight-service-role-v0), let through the analytics buckets' perimeter and the key."
  type = object({
    principal_arn    = string
    tenant_groups    = map(list(string))
    service_role_arn = optional(string)
  })
  default = null
}

variable "perimeter" {
  description = <<-EOT
    Who besides the pipeline's own roles may reach its data (the buckets' perimeter and the key policy).
    break_glass_role_arn: the incident-response role that may read and delete image data and use the key; null: none.
    deployer_role_arns: the roles that run terraform plan/apply and `make key` here; they may use the key only to create what it
    encrypts, never to read image data. Default: this environment's pipeline roles, <name_prefix>-cicd-plan and -cicd-apply
    (add the role you deploy with by hand).
    trail_reader_role_arns: roles that may read the trail's log files in its bucket.
  EOT
  type = object({
    break_glass_role_arn   = optional(string)
    deployer_role_arns     = optional(list(string))
    trail_reader_role_arns = optional(list(string), [])
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue([
      for a in concat(compact([var.perimeter.break_glass_role_arn]), coalesce(var.perimeter.deployer_role_arns, []), var.perimeter.trail_reader_role_arns) :
      can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))
    ])
    error_message = "perimeter ARNs must be IAM role ARNs (arn:<partition>:iam::<account>:role/<name>)."
  }
}

variable "security" {
  description = "Account security services (modules/security): the pipeline's CloudTrail trail, a GuardDuty detector with S3 protection, Malware Protection for S3 on the raw bucket (the processor then requires its verdict), IAM Access Analyzer. Turn one off only where the organisation already runs it for this account."
  type = object({
    create_trail              = optional(bool, true)
    create_guardduty_detector = optional(bool, true)
    malware_protection        = optional(bool, true)
    create_access_analyzer    = optional(bool, true)
  })
  default  = {}
  nullable = false
}

variable "observability" {
  description = "Alarms and dashboard (modules/observability): who is notified (alarm_emails, extra_alarm_actions) and threshold overrides (keys of that module's thresholds variable)."
  type = object({
    alarm_emails        = optional(list(string), [])
    extra_alarm_actions = optional(list(string), [])
    thresholds          = optional(map(number), {})
  })
  default  = {}
  nullable = false
}

variable "api_custom_domain" {
  description = "Serve the API on this domain with the TLS 1.2 security policy and close the execute-api endpoint (modules/ingest_api custom_domain), or null."
  type = object({
    domain_name     = string
    certificate_arn = string
  })
  default = null
}

variable "web_users" {
  description = "Web users (modules/identity): a Cognito user pool and the SPA's app client, whose access tokens the API accepts besides API keys. callback_urls/logout_urls: the web app's origins. allow_password_auth, jwks_endpoint_override and set_user_pool_tier = false exist for the local emulator only. enabled = false: API keys only."
  type = object({
    enabled                = optional(bool, true)
    callback_urls          = optional(list(string), [])
    logout_urls            = optional(list(string), [])
    user_pool_tier         = optional(string, "ESSENTIALS")
    set_user_pool_tier     = optional(bool, true)
    mfa_configuration      = optional(string, "OPTIONAL")
    access_token_minutes   = optional(number, 15)
    refresh_token_hours    = optional(number, 12)
    allow_password_auth    = optional(bool, false)
    jwks_endpoint_override = optional(string)
    domain_prefix          = optional(string)
  })
  default  = {}
  nullable = false
}

variable "web_app" {
  description = "The web app (modules/web): web/ served by CloudFront from a private bucket, signing users in on the pool's hosted UI (domain <web_users.domain_prefix or name_prefix-account id>). Its origin joins web_origins (the API's and the raw bucket's CORS) and the app client's callback and logout URLs. web_acl_arn: a CLOUDFRONT-scope WAF web ACL (made in us-east-1). enabled = false (default, and ENV=local, where the gateway serves web/): no CloudFront."
  type = object({
    enabled       = optional(bool, false)
    price_class   = optional(string, "PriceClass_100")
    web_acl_arn   = optional(string)
    force_destroy = optional(bool, false)
  })
  default  = {}
  nullable = false

  validation {
    condition     = !var.web_app.enabled || var.web_users.enabled
    error_message = "web_app needs web_users: the app signs its users in to the pool."
  }
}

variable "api_quotas" {
  description = "Per-tenant API limits (modules/ingest_api quotas): requests per minute and uploads per UTC day (count, bytes); default for every tenant, tenants for overrides."
  type = object({
    default = optional(object({
      uploads_per_day     = optional(number, 10000)
      bytes_per_day       = optional(number, 10737418240)
      requests_per_minute = optional(number, 600)
    }), {})
    tenants = optional(map(object({
      uploads_per_day     = optional(number)
      bytes_per_day       = optional(number)
      requests_per_minute = optional(number)
    })), {})
  })
  default  = {}
  nullable = false
}

variable "web_origins" {
  description = "Origins of the web app (e.g. https://app.example.com): they may call the API from a browser (its CORS) and POST presigned upload forms to the raw bucket (the bucket's CORS, POST only). [] (default): no CORS anywhere. Validated by modules/ingest_api and modules/storage: exact origins, never \"*\"."
  type        = list(string)
  default     = []
  nullable    = false
}
