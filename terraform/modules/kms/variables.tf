variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\" (e.g. \"imgpipe-prod\"). The key alias becomes alias/<name_prefix>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "deletion_window_in_days" {
  description = "Waiting period (7-30 days) before a key scheduled for deletion is destroyed. Keep the AWS maximum (30) outside throw-away environments."
  type        = number
  default     = 30

  validation {
    condition     = var.deletion_window_in_days >= 7 && var.deletion_window_in_days <= 30 && floor(var.deletion_window_in_days) == var.deletion_window_in_days
    error_message = "deletion_window_in_days must be a whole number between 7 and 30."
  }
}

variable "additional_via_services" {
  description = "Extra AWS service names (e.g. \"lambda\", \"kafka\", \"glue\") whose requests, made on behalf of principals of this account, may use the key (kms:ViaService <service>.<region>.amazonaws.com). s3, dynamodb, sqs, logs and secretsmanager are always allowed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.additional_via_services : can(regex("^[a-z][a-z0-9-]{1,40}$", s))])
    error_message = "additional_via_services entries must be bare service names such as \"lambda\" (lowercase letters, digits, hyphens)."
  }
}

variable "tags" {
  description = "Tags added to the key (provider default_tags are merged by AWS provider)."
  type        = map(string)
  default     = {}
}

variable "cloudtrail_trail_name" {
  description = "Name of this account's CloudTrail trail (in this region) that encrypts its log files with the key, or null for none."
  type        = string
  default     = null
}

variable "alarm_name_prefix" {
  description = "Name prefix of this environment's CloudWatch alarms, which notify an SNS topic encrypted with the key (e.g. \"imgpipe-prod-\"), or null when no alarm does. CloudWatch may then use the key for those alarms of this account only."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_name_prefix == null || can(regex("^[A-Za-z0-9_.-]{1,200}$", var.alarm_name_prefix))
    error_message = "alarm_name_prefix must be 1-200 letters, digits, '.', '_' or '-' (no wildcard: it is one)."
  }
}
