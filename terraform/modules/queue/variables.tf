variable "name" {
  description = "The queue's name; its dead-letter queue is <name>-dlq."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,76}$", var.name))
    error_message = "name must be 1-76 letters, digits, - or _ (SQS allows 80 with the -dlq suffix)."
  }
}

variable "kms_key_arn" {
  description = "The environment's CMK: both queues are encrypted with it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (an alias or the AWS managed key would not do)."
  }
}

variable "retention_seconds" {
  description = "How long either queue keeps a message; messages name images, so at most the images' 7 days."
  type        = number

  validation {
    condition     = var.retention_seconds >= 60 && var.retention_seconds <= 7 * 86400
    error_message = "retention_seconds must be 60 s to 7 days."
  }
}

variable "visibility_timeout_seconds" {
  description = "How long a received message stays hidden: longer than its consumer may work on it."
  type        = number

  validation {
    condition     = var.visibility_timeout_seconds >= 0 && var.visibility_timeout_seconds <= 43200
    error_message = "visibility_timeout_seconds must be 0-43200."
  }
}

variable "max_receive_count" {
  description = "Receives before a message goes to the dead-letter queue."
  type        = number
  default     = 5

  validation {
    condition     = var.max_receive_count >= 1 && var.max_receive_count <= 1000 && floor(var.max_receive_count) == var.max_receive_count
    error_message = "max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "kms_data_key_reuse_period_seconds" {
  description = "How long SQS reuses a data key before asking KMS again (60-86400 s; fewer KMS calls, same key)."
  type        = number
  default     = 300

  validation {
    condition     = var.kms_data_key_reuse_period_seconds >= 60 && var.kms_data_key_reuse_period_seconds <= 86400
    error_message = "kms_data_key_reuse_period_seconds must be between 60 and 86400."
  }
}

variable "policy_statements" {
  description = "Statements added to the queue's resource policy after its plain-HTTP deny: a service that sends to it (S3 notifications to the raw-events queue). Principals of this account need none: IAM grants them."
  type        = any
  default     = []
}

variable "dlq_redrive_allow_policy_enabled" {
  description = "Let only this queue use the DLQ as its dead-letter target (off only for emulators without the API)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for both queues."
  type        = map(string)
  default     = {}
}
