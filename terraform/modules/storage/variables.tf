variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\" (e.g. \"imgpipe-prod\")."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "bucket_name_suffix" {
  description = "Suffix that makes bucket names globally unique: <name_prefix>-raw-<suffix> / <name_prefix>-processed-<suffix>. null (default) uses the AWS account id."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name_suffix == null || can(regex("^[a-z0-9][a-z0-9-]{0,18}[a-z0-9]$", var.bucket_name_suffix))
    error_message = "bucket_name_suffix must be 2-20 characters of lowercase letters, digits and hyphens, starting and ending with a letter or digit (bucket names stay <= 63 characters)."
  }
}

variable "extra_buckets" {
  description = "More buckets for image-derived data (e.g. \"analytics\", \"athena-results\"), named <name_prefix>-<key>-<suffix>, with exactly the same protection and retention as raw and processed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for k in var.extra_buckets : can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", k)) && !contains(["raw", "processed"], k)])
    error_message = "extra_buckets keys must be 3-20 lowercase letters, digits and hyphens, and not raw or processed."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key that encrypts both buckets (SSE-KMS with bucket keys) and both queues."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id."
  }
}

variable "retention_days" {
  description = "Days image-derived data is kept (1-7): current objects expire after it and queue messages are retained at most this long."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7: image-derived data is never kept longer than 7 days."
  }
}

variable "raw_prefix" {
  description = "Key prefix in the raw bucket under which new objects trigger ObjectCreated notifications to the raw-events queue."
  type        = string
  default     = "raw/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.raw_prefix))
    error_message = "raw_prefix must be a non-empty relative key prefix ending with \"/\" (e.g. \"raw/\"), without a leading slash."
  }
}

variable "enforce_bucket_policy" {
  description = "Attach bucket policies that deny non-TLS access, TLS < 1.2 and uploads requesting another encryption or another KMS key. Only emulators that cannot evaluate policy conditions (moto) should turn this off."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (all object versions). Only for throw-away environments."
  type        = bool
  default     = false
}

variable "queue_visibility_timeout_seconds" {
  description = "Visibility timeout of the raw-events queue (0-43200 s). Must be at least the image processor's timeout (AWS recommends 6x for Lambda event sources)."
  type        = number
  default     = 300

  validation {
    condition     = var.queue_visibility_timeout_seconds >= 0 && var.queue_visibility_timeout_seconds <= 43200 && floor(var.queue_visibility_timeout_seconds) == var.queue_visibility_timeout_seconds
    error_message = "queue_visibility_timeout_seconds must be a whole number between 0 and 43200."
  }
}

variable "max_receive_count" {
  description = "Receives of a raw-events message before it is moved to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "How long SQS reuses a data key before calling KMS again (60-86400 s); longer means fewer KMS calls."
  type        = number
  default     = 300

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be between 60 and 86400."
  }
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags are merged by the AWS provider)."
  type        = map(string)
  default     = {}
}

variable "dlq_redrive_allow_policy_enabled" {
  description = "Attach a redrive-allow policy to the DLQ so that only the raw-events queue can use it as dead-letter target. Only emulators without RedriveAllowPolicy support (moto) should turn this off."
  type        = bool
  default     = true
}

variable "cloudtrail_writer" {
  description = "Let the CloudTrail trail <trail_name> of this account and region deliver its logs to the extra bucket <bucket_key> (AWSLogs/<account>/ only), or null."
  type = object({
    bucket_key = string
    trail_name = string
  })
  default = null

  validation {
    condition     = var.cloudtrail_writer == null || try(contains(var.extra_buckets, var.cloudtrail_writer.bucket_key), false)
    error_message = "cloudtrail_writer.bucket_key must be one of extra_buckets."
  }
}

variable "raw_eventbridge_notifications" {
  description = "Send the raw bucket's events to EventBridge as well (GuardDuty Malware Protection for S3 needs it, and enables it itself)."
  type        = bool
  default     = false
}

variable "object_access_role_arns" {
  description = "By bucket key (raw, processed, analytics, …): the roles that may read, write, delete or list its objects. The bucket policy denies every other role of any account, whatever its IAM grants (the data perimeter); AWS services acting on their own behalf are not roles and keep the statements that name them. A bucket without an entry is closed to every role but the break-glass one."
  type        = map(list(string))
  default     = {}
  nullable    = false

  validation {
    condition     = alltrue([for arns in values(var.object_access_role_arns) : alltrue([for a in arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])])
    error_message = "object_access_role_arns values must be lists of IAM role ARNs."
  }
}

variable "break_glass_role_arn" {
  description = "The incident-response role that may reach every bucket's objects, or null."
  type        = string
  default     = null

  validation {
    condition     = var.break_glass_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.break_glass_role_arn))
    error_message = "break_glass_role_arn must be an IAM role ARN."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins (the web app's) that may POST presigned upload forms to the raw bucket. [] (default) = no CORS configuration. Exact origins only (https://host[:port]; http only for localhost/127.0.0.1), never \"*\"."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for o in var.cors_allowed_origins :
      can(regex("^https://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$", o)) ||
      can(regex("^http://(localhost|127\\.0\\.0\\.1)(:[0-9]{1,5})?$", o))
    ])
    error_message = "cors_allowed_origins entries must be exact lowercase origins such as \"https://app.example.com\" (http only for localhost/127.0.0.1), without a path or trailing slash; \"*\" is not allowed."
  }
}
