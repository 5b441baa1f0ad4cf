variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\" (e.g. \"imgpipe-prod\"). The table becomes <name_prefix>-images."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "kms_key_arn" {
  description = "ARN of the customer-managed KMS key used for table encryption at rest."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id."
  }
}

variable "retention_days" {
  description = "Days image metadata is kept (1-7). Also the point-in-time-recovery window, so backups never outlive the data. Items carry their own expiry in the TTL attribute expires_at."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7: image-derived data is never kept longer than 7 days."
  }
}

variable "deletion_protection_enabled" {
  description = "Protect the table against deletion. Only throw-away environments turn it off."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to the table (provider default_tags are merged by the AWS provider)."
  type        = map(string)
  default     = {}
}
