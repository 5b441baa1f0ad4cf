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
  description = "Extra AWS service names (e.g. \"kafka\", \"athena\") through which the named roles may use the key (kms:ViaService <service>.<region>.amazonaws.com). s3, dynamodb, sqs, sns, logs, secretsmanager and lambda are always allowed."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.additional_via_services : can(regex("^[a-z][a-z0-9-]{1,40}$", s))])
    error_message = "additional_via_services entries must be bare service names such as \"lambda\" (lowercase letters, digits, hyphens)."
  }
}

variable "user_role_arns" {
  description = "The roles that use the key for the pipeline's data, through its services: its functions' execution roles, the analyst role, GuardDuty's scanning role, QuickSight's service role. Nobody else of the account can (the account only administers the key)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.user_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "user_role_arns must be IAM role ARNs."
  }
}

variable "deployer_role_arns" {
  description = "The roles that run terraform plan/apply and `make key` for this environment: they may use the key only to create what it encrypts (through Lambda, Secrets Manager, DynamoDB, MSK), never to read data through S3, SQS or SNS."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.deployer_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "deployer_role_arns must be IAM role ARNs."
  }
}

variable "break_glass_role_arn" {
  description = "The incident-response role that may use the key as the pipeline's roles and deployers do, or null."
  type        = string
  default     = null

  validation {
    condition     = var.break_glass_role_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", var.break_glass_role_arn))
    error_message = "break_glass_role_arn must be an IAM role ARN."
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

variable "mac_user_role_arns" {
  description = "The roles that sign and verify with the environment's HMAC key (the API's pagination cursors): upload_api's."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.mac_user_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "mac_user_role_arns must be IAM role ARNs."
  }
}
