# Values are set in terraform.tfvars; they are validated by modules/cicd.

variable "project" {
  description = "Project name; first part of every name (<project>-<environment>-cicd-*)."
  type        = string
}

variable "region" {
  description = "AWS region of the pipelines (and of the stacks they deploy)."
  type        = string
}

variable "allowed_account_ids" {
  description = "12-digit AWS account ids this root may be applied to. Empty list = no guard."
  type        = list(string)
  default     = []
}

variable "repository" {
  description = "Source of every pipeline: see modules/cicd (CodeStarSourceConnection with connection_arn and \"owner/repo\", or CodeCommit with the repository name)."
  type = object({
    provider       = string
    id             = string
    branch         = optional(string, "main")
    connection_arn = optional(string)
  })
}

variable "environments" {
  description = "One pipeline per environment: its state backend (what `make bootstrap ENV=<env>` printed), whether a person approves each plan (always for prod), and who is told when one waits."
  type = map(object({
    state = object({
      bucket      = string
      key         = string
      region      = string
      kms_key_arn = string
    })
    manual_approval    = optional(bool, true)
    approval_topic_arn = optional(string)
  }))

  validation {
    condition     = length(var.environments) > 0 && alltrue([for env in keys(var.environments) : contains(["staging", "prod"], env)])
    error_message = "environments holds staging and/or prod."
  }
}

variable "terraform_version" {
  description = "Terraform the pipelines install (the same for plan and apply)."
  type        = string
  default     = "1.11.4"
}
