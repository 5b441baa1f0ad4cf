variable "project" {
  description = "Project name; first part of every resource name (<project>-<environment>)."
  type        = string
  default     = "imgpipe"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.project))
    error_message = "project must be 3-20 characters of lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name; second part of every resource name (<project>-<environment>)."
  type        = string
  default     = "staging"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,10}$", var.environment))
    error_message = "environment must be 2-11 lowercase letters or digits, starting with a letter."
  }
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
  default     = "us-east-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "retention_days" {
  description = "Days any image-derived data is kept (1-7): S3 lifecycle, queue retention, DynamoDB PITR window."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of the Lambda functions (arm64 is cheaper; x86_64 selectable). Reserved for the function modules."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "allowed_account_ids" {
  description = "AWS account ids this environment may be applied to (guards against applying with the wrong credentials). Empty list = no guard."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.allowed_account_ids : can(regex("^[0-9]{12}$", id))])
    error_message = "allowed_account_ids entries must be 12-digit AWS account ids."
  }
}
