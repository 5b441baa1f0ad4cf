variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\". The function becomes <name_prefix>-metadata_export."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "retention_days" {
  description = "Days image-derived data is kept (1-7): the partitions Athena projects, the on-failure queue's retention and the log retention cap. The buckets' own lifecycle comes from module storage."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key (exports, Athena results, queue, environment, logs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, not an alias or key id."
  }
}

variable "analytics_bucket_name" {
  description = "Bucket the export writes to (module storage, extra bucket \"analytics\": same encryption, lifecycle and policy as the image buckets)."
  type        = string
}

variable "results_bucket_name" {
  description = "Bucket for Athena query results (module storage, extra bucket \"athena-results\")."
  type        = string
}

variable "table_stream_arn" {
  description = "ARN of the metadata table's stream (NEW_AND_OLD_IMAGES)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+/stream/.+$", var.table_stream_arn))
    error_message = "table_stream_arn must be a DynamoDB stream ARN."
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

variable "batch_size" {
  description = "Stream records per invocation (1-10000): more records, fewer and larger export files."
  type        = number
  default     = 500

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 10000 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 10000."
  }
}

variable "batching_window_seconds" {
  description = "How long the stream source gathers records before invoking (0-300 s): the export's freshness."
  type        = number
  default     = 60

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300 && floor(var.batching_window_seconds) == var.batching_window_seconds
    error_message = "batching_window_seconds must be a whole number between 0 and 300."
  }
}

variable "create_event_source_mapping" {
  description = "Create the stream's event source mapping to metadata_export. Only an emulator that mishandles one turns it off (moto empties a table's stream whenever a mapping is attached); the local runtime then reads `event_source` and delivers the stream itself."
  type        = bool
  default     = true
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena refuses a query of the workgroup that would scan more than this (bytes, >= 10 MB)."
  type        = number
  default     = 1073741824

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (Athena's minimum)."
  }
}

variable "analyst_principal_arns" {
  description = "IAM principals (roles or users, e.g. an SSO permission set's role) allowed to assume the read-only analyst role. Empty: no analyst role."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.analyst_principal_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user|root)", a))])
    error_message = "analyst_principal_arns must be IAM role, user or account-root ARNs."
  }
}

variable "quicksight" {
  description = <<-EOT
    QuickSight data source (Athena, this workgroup) and dataset, shared with principal_arn (a QuickSight user or group ARN).
    tenant_groups: QuickSight group ARN -> the tenant ids whose rows its members see. The dataset's row-level security is
    always on: a reader in none of these groups sees no row. Needs a QuickSight subscription in the account; null (default)
    creates nothing.
  EOT
  type = object({
    principal_arn = string
    tenant_groups = map(list(string))
  })
  default = null

  validation {
    condition     = var.quicksight == null || length(try(var.quicksight.tenant_groups, {})) > 0
    error_message = "quicksight.tenant_groups must name at least one group: without rules nobody could read the dataset."
  }

  validation {
    condition = var.quicksight == null || alltrue([
      for group, tenants in try(var.quicksight.tenant_groups, {}) :
      can(regex("^arn:aws[a-z-]*:quicksight:[a-z0-9-]+:[0-9]{12}:group/[A-Za-z0-9._-]+/[A-Za-z0-9._@+=,-]+$", group))
      && length(tenants) > 0 && alltrue([for t in tenants : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", t))])
    ])
    error_message = "quicksight.tenant_groups keys must be QuickSight group ARNs and values non-empty lists of tenant ids (1-63 lowercase letters, digits or hyphens)."
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
