variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\". The function becomes <name_prefix>-retention_audit."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "retention_days" {
  description = "Days image-derived data is kept (1-7). The audit purges what is older and still exists."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7."
  }
}

variable "grace_hours" {
  description = "How far past its expiry data may be found before it counts as a RetentionViolation (it is purged either way). 48 h covers DynamoDB TTL's documented lag and S3 lifecycle's midnight rounding plus its noncurrent day."
  type        = number
  default     = 48

  validation {
    condition     = var.grace_hours >= 0 && var.grace_hours <= 168 && floor(var.grace_hours) == var.grace_hours
    error_message = "grace_hours must be a whole number between 0 and 168."
  }
}

variable "schedule_interval_minutes" {
  description = "How often the audit runs. The worst-case life of anything lifecycle/TTL missed is retention_days plus this interval."
  type        = number
  default     = 60

  validation {
    condition     = var.schedule_interval_minutes >= 5 && var.schedule_interval_minutes <= 1440 && floor(var.schedule_interval_minutes) == var.schedule_interval_minutes
    error_message = "schedule_interval_minutes must be a whole number between 5 and 1440 (daily)."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key (table reads, function environment, logs)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, not an alias or key id."
  }
}

variable "raw_bucket_name" {
  description = "Name of the raw image bucket."
  type        = string
}

variable "processed_bucket_name" {
  description = "Name of the processed (renditions) bucket."
  type        = string
}

variable "extra_bucket_names" {
  description = "Other buckets holding image-derived data (e.g. analytics exports) that the audit must bound too."
  type        = list(string)
  default     = []
}

variable "table_name" {
  description = "Name of the metadata table (with its by_day index)."
  type        = string
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

variable "timeout_seconds" {
  description = "Function timeout: one audit pass over every image bucket's versions."
  type        = number
  default     = 900

  validation {
    condition     = var.timeout_seconds >= 30 && var.timeout_seconds <= 900 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number between 30 and 900."
  }
}

variable "trust_event_time" {
  description = "Take the audit's clock from the scheduled event's time instead of the wall clock. Only for the local runtime's time travel (envs/local); on AWS anyone able to invoke the function could then make it purge early."
  type        = bool
  default     = false
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
