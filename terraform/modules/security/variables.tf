variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\" (e.g. \"imgpipe-prod\"). The trail is named <name_prefix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key: encrypts the trail's log files (its key policy must allow the trail: kms module cloudtrail_trail_name)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, not an alias or key id."
  }
}

variable "create_trail" {
  description = "Create the pipeline's CloudTrail trail. Turn off only where an organisation trail already records management events and these data events."
  type        = bool
  default     = true
}

variable "trail_bucket_name" {
  description = "Bucket the trail delivers to (the storage module's \"trail\" bucket: CMK, TLS-only, versioned, the retention window's lifecycle, and a policy letting only this trail write)."
  type        = string
  default     = null

  validation {
    condition     = var.trail_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.trail_bucket_name))
    error_message = "trail_bucket_name must be an S3 bucket name."
  }
}

variable "s3_data_event_bucket_arns" {
  description = "Buckets whose object-level API calls the trail records (the image, analytics and results buckets)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.s3_data_event_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "s3_data_event_bucket_arns must be bucket ARNs (arn:<partition>:s3:::<bucket>), without a key part."
  }
}

variable "lambda_data_event_function_arns" {
  description = "Functions whose invocations the trail records (the pipeline's functions)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.lambda_data_event_function_arns : can(regex("^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[A-Za-z0-9_-]+$", arn))])
    error_message = "lambda_data_event_function_arns must be unqualified Lambda function ARNs."
  }
}

variable "create_guardduty_detector" {
  description = "Create this account's GuardDuty detector (with S3 protection) in this region. Turn off where a delegated GuardDuty administrator already manages it: an account has one detector per region."
  type        = bool
  default     = true
}

variable "malware_protection" {
  description = "GuardDuty Malware Protection for S3 on these object prefixes of this bucket, tagging each scanned object with its verdict (GuardDutyMalwareScanStatus), or null for none. Set the processing module's malware_scan to required with it."
  type = object({
    bucket_name     = string
    bucket_arn      = string
    object_prefixes = list(string)
  })
  default = null

  validation {
    condition     = var.malware_protection == null || try(length(var.malware_protection.object_prefixes) >= 1 && length(var.malware_protection.object_prefixes) <= 5 && alltrue([for p in var.malware_protection.object_prefixes : can(regex("^[A-Za-z0-9!_.*'()/-]+$", p)) && length(p) <= 1024]), false)
    error_message = "malware_protection.object_prefixes must hold 1-5 key prefixes (GuardDuty's limit)."
  }
}

variable "create_access_analyzer" {
  description = "Create an account IAM Access Analyzer (external access findings). Turn off where an organisation analyzer covers the account."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
