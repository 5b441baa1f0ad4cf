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
  default     = "local"

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

variable "endpoint_url" {
  description = "Endpoint of the local AWS emulator used for every service (moto server by default)."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://[^/]+", var.endpoint_url))
    error_message = "endpoint_url must start with http:// or https:// followed by a host."
  }
}
