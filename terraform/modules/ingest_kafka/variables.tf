variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\". The function becomes <name_prefix>-kafka_ingest."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "retention_days" {
  description = "Days image-derived data is kept (1-7): stored items' expiry, the rejects queue's message retention, the log retention cap and the idempotency window."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key (raw objects, items, queue, idempotency table, environment, logs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, not an alias or key id."
  }
}

variable "raw_bucket_name" {
  description = "Name of the raw image bucket (module storage)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be a valid S3 bucket name."
  }
}

variable "raw_bucket_arn" {
  description = "ARN of the raw image bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_arn))
    error_message = "raw_bucket_arn must be an S3 bucket ARN without an object path."
  }
}

variable "raw_prefix" {
  description = "Key prefix the function writes raw images under (and which triggers processing)."
  type        = string
  default     = "raw/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.raw_prefix))
    error_message = "raw_prefix must be a non-empty relative key prefix ending with \"/\"."
  }
}

variable "claim_check_prefix" {
  description = "Prefix in the raw bucket where producers stage claim-check objects; the function reads and then deletes them, and refuses references anywhere else. Must differ from raw_prefix (staged objects must not trigger processing)."
  type        = string
  default     = "staging/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.claim_check_prefix))
    error_message = "claim_check_prefix must be a non-empty relative key prefix ending with \"/\"."
  }

  validation {
    condition     = var.claim_check_prefix != var.raw_prefix && !startswith(var.claim_check_prefix, var.raw_prefix) && !startswith(var.raw_prefix, var.claim_check_prefix)
    error_message = "claim_check_prefix and raw_prefix must not overlap: staged objects would be processed as raw images."
  }
}

variable "table_name" {
  description = "Name of the metadata table (module metadata)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be a DynamoDB table name."
  }
}

variable "table_arn" {
  description = "ARN of the metadata table."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the function: arm64 (default) or x86_64; the package must match."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "function" {
  description = "Deployment package built by scripts/deploy/package: filename of the zip and its base64 SHA-256."
  type = object({
    filename         = string
    source_code_hash = string
  })

  validation {
    condition     = endswith(var.function.filename, ".zip") && can(regex("^[A-Za-z0-9+/]{43}=$", var.function.source_code_hash))
    error_message = "function needs a .zip filename and the base64-encoded SHA-256 of that zip."
  }
}

variable "kafka" {
  description = <<-EOT
    Where the images come from, as given by the Kafka engineers:
    - type "msk": an existing Amazon MSK cluster (cluster_arn) with IAM auth (the only auth this module grants for
      MSK), or, with new_msk_cluster set and no cluster_arn, the cluster this module creates;
    - type "self_managed": any Kafka (bootstrap_servers) with auth "sasl_scram_512" (scram_secret_arn in Secrets
      Manager, or none: the module creates <name_prefix>/kafka-scram with the environment's key, holding no value
      until the operator puts {"username","password"} in it; scram_rotation_lambda_arn rotates it) or, only for a
      broker on a private network or an emulator, "none".
    topic and consumer_group_id name what the function consumes; subnet_ids and security_group_ids place the
    event source's pollers in the brokers' VPC (required for MSK); vpc_id is that VPC (needed for the interface
    endpoints and for a new cluster).
    The tenant each image belongs to comes from here, never from the record: source_tenants maps a record's
    source-id header (an exact name, or "prefix*") to a tenant, default_tenant takes records without one; a
    record neither covers is refused as unknown_source. Producers on one topic can name each other's source
    ids: give a tenant a topic of its own (and its ACLs) where producers do not trust each other.
  EOT
  type = object({
    type              = string
    topic             = string
    consumer_group_id = string
    cluster_arn       = optional(string)
    bootstrap_servers = optional(list(string), [])
    auth              = optional(string, "iam")
    scram_secret_arn  = optional(string)
    # A rotation function for the secret (the broker's user must change with it: only its owner can write one).
    scram_rotation_lambda_arn = optional(string)
    scram_rotation_days       = optional(number, 30)
    subnet_ids                = optional(list(string), [])
    security_group_ids        = optional(list(string), [])
    vpc_id                    = optional(string)
    source_tenants            = optional(map(string), {})
    default_tenant            = optional(string)
  })

  validation {
    condition = (length(var.kafka.source_tenants) > 0 || var.kafka.default_tenant != null) && alltrue([
      for source, tenant in var.kafka.source_tenants : length(source) > 0 && can(regex("^[a-z0-9][a-z0-9-]{0,62}$", tenant))
    ]) && (var.kafka.default_tenant == null || can(regex("^[a-z0-9][a-z0-9-]{0,62}$", coalesce(var.kafka.default_tenant, "-"))))
    error_message = "kafka needs source_tenants (source-id or \"prefix*\" -> tenant) or default_tenant; tenants are 1-63 lowercase letters, digits and hyphens."
  }

  validation {
    condition     = contains(["msk", "self_managed"], var.kafka.type)
    error_message = "kafka.type must be \"msk\" or \"self_managed\"."
  }

  validation {
    condition     = var.kafka.type != "msk" || ((var.new_msk_cluster == null ? can(regex("^arn:aws[a-z-]*:kafka:[a-z0-9-]+:[0-9]{12}:cluster/[A-Za-z0-9-]+/[A-Za-z0-9-]+$", coalesce(var.kafka.cluster_arn, "-"))) : var.kafka.cluster_arn == null) && var.kafka.auth == "iam" && length(var.kafka.subnet_ids) > 0 && length(var.kafka.security_group_ids) > 0)
    error_message = "An msk source needs cluster_arn (arn:...:kafka:...:cluster/<name>/<uuid>) or new_msk_cluster (not both), auth \"iam\", and the subnet_ids and security_group_ids of the cluster's VPC."
  }

  validation {
    condition     = var.new_msk_cluster == null || var.kafka.type == "msk"
    error_message = "new_msk_cluster goes with kafka.type \"msk\"."
  }

  validation {
    condition     = length(var.kafka.subnet_ids) == 0 || !(var.create_vpc_endpoints || var.new_msk_cluster != null) || can(regex("^vpc-[0-9a-f]+$", coalesce(var.kafka.vpc_id, "-")))
    error_message = "kafka.vpc_id (vpc-...) is needed for the interface endpoints and for a new cluster; set create_vpc_endpoints = false if the VPC already has them."
  }

  validation {
    condition     = var.kafka.type != "self_managed" || (length(var.kafka.bootstrap_servers) > 0 && contains(["sasl_scram_512", "none"], var.kafka.auth) && (var.kafka.scram_secret_arn == null || can(regex("^arn:aws[a-z-]*:secretsmanager:", coalesce(var.kafka.scram_secret_arn, "-")))))
    error_message = "A self_managed source needs bootstrap_servers and auth \"sasl_scram_512\" (scram_secret_arn a Secrets Manager ARN, or none for a secret made here) or, explicitly, \"none\"."
  }

  validation {
    condition     = var.kafka.scram_rotation_lambda_arn == null || (var.kafka.auth == "sasl_scram_512" && can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", coalesce(var.kafka.scram_rotation_lambda_arn, "-"))) && var.kafka.scram_rotation_days >= 1 && var.kafka.scram_rotation_days <= 90)
    error_message = "scram_rotation_lambda_arn (a Lambda function ARN) goes with auth \"sasl_scram_512\", rotating every 1-90 days."
  }

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]{1,249}$", var.kafka.topic)) && can(regex("^[A-Za-z0-9._-]{1,200}$", var.kafka.consumer_group_id))
    error_message = "kafka.topic and kafka.consumer_group_id must be valid Kafka names (letters, digits, . _ -)."
  }
}

variable "new_msk_cluster" {
  description = <<-EOT
    Create an MSK cluster for this source, for non-production environments (production consumes the Kafka
    engineers' cluster through kafka.cluster_arn). Brokers go one per subnet of kafka.subnet_ids (or a multiple of
    that), with IAM auth only, TLS only, no public access, storage encrypted with kms_key_arn, broker logs kept
    at most retention_days, and the topic data itself deleted after retention_days (log.retention.hours).
  EOT
  type = object({
    kafka_version          = optional(string, "3.6.0")
    broker_instance_type   = optional(string, "kafka.t3.small")
    number_of_broker_nodes = optional(number)
    volume_size_gb         = optional(number, 20)
    partitions             = optional(number, 3)
  })
  default = null

  validation {
    condition = var.new_msk_cluster == null || try(
      startswith(var.new_msk_cluster.broker_instance_type, "kafka.")
      && var.new_msk_cluster.volume_size_gb >= 1 && var.new_msk_cluster.volume_size_gb <= 16384
      && var.new_msk_cluster.partitions >= 1 && floor(var.new_msk_cluster.partitions) == var.new_msk_cluster.partitions,
      false
    )
    error_message = "new_msk_cluster needs a kafka.* instance type, 1-16384 GB of storage and a whole number of partitions."
  }
}

variable "create_vpc_endpoints" {
  description = "Create interface VPC endpoints (STS, Lambda, and Secrets Manager with SCRAM) in kafka.subnet_ids, so that the event source's pollers need no NAT gateway. Turn off only when the VPC already has them. Ignored without subnets."
  type        = bool
  default     = true
}

variable "create_event_source_mapping" {
  description = "Create the Lambda event source mapping. Only an emulator that cannot hold one (moto refuses Kafka sources) turns it off; the local runtime then reads `event_source` and consumes itself."
  type        = bool
  default     = true
}

variable "batch_size" {
  description = "Records per invocation (1-10000)."
  type        = number
  default     = 100

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  description = "How long the event source gathers records before invoking (0-300 s)."
  type        = number
  default     = 1

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300 && floor(var.batching_window_seconds) == var.batching_window_seconds
    error_message = "batching_window_seconds must be a whole number between 0 and 300."
  }
}

variable "starting_position" {
  description = "Where a new consumer group starts: TRIM_HORIZON (everything still on the topic) or LATEST."
  type        = string
  default     = "TRIM_HORIZON"

  validation {
    condition     = contains(["TRIM_HORIZON", "LATEST"], var.starting_position)
    error_message = "starting_position must be TRIM_HORIZON or LATEST."
  }
}

variable "max_inline_bytes" {
  description = "Largest inline image value accepted (bytes); raise together with the topic's max.message.bytes. Larger images travel by claim-check."
  type        = number
  default     = 1048576

  validation {
    condition     = var.max_inline_bytes >= 1024 && var.max_inline_bytes <= 6291456 && floor(var.max_inline_bytes) == var.max_inline_bytes
    error_message = "max_inline_bytes must be a whole number between 1024 and 6291456 (the Lambda payload limit)."
  }
}

variable "memory_mb" {
  description = "Function memory (validation is header-only: no full decode happens here)."
  type        = number
  default     = 1024

  validation {
    condition     = var.memory_mb >= 256 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb must be a whole number between 256 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Function timeout: a whole batch must fit."
  type        = number
  default     = 120

  validation {
    condition     = var.timeout_seconds >= 10 && var.timeout_seconds <= 900 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number between 10 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of kafka_ingest. null = unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null or a whole number >= 1 (0 would stop ingestion)."
  }
}

variable "offset_lag_alarm_threshold" {
  description = "Alarm when the event source's OffsetLag (records not yet consumed) stays above this for 5 minutes."
  type        = number
  default     = 1000

  validation {
    condition     = var.offset_lag_alarm_threshold >= 1
    error_message = "offset_lag_alarm_threshold must be at least 1."
  }
}

variable "alarm_actions" {
  description = "ARNs notified by the module's alarms."
  type        = list(string)
  default     = []
}

variable "log_level" {
  description = "The function's log level."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "tags" {
  description = "Extra tags for every resource (cannot replace imgpipe:function)."
  type        = map(string)
  default     = {}
}

variable "scram_secret_recovery_window_days" {
  description = "Days a deleted SCRAM secret (made here) can be restored (0 deletes at once, for throw-away environments; else 7-30)."
  type        = number
  default     = 30

  validation {
    condition     = var.scram_secret_recovery_window_days == 0 || (var.scram_secret_recovery_window_days >= 7 && var.scram_secret_recovery_window_days <= 30)
    error_message = "scram_secret_recovery_window_days must be 0 or 7-30."
  }
}
