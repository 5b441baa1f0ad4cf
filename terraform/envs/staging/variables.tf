# Values are set in terraform.tfvars; they are validated once, by modules/pipeline (and the provider).

variable "project" {
  description = "Project name; first part of every resource name (<project>-<environment>)."
  type        = string
}

variable "environment" {
  description = "Environment name; second part of every resource name (<project>-<environment>)."
  type        = string
}

variable "region" {
  description = "AWS region of the stack."
  type        = string
}

variable "retention_days" {
  description = "Days any image-derived data is kept (1-7): S3 lifecycle, queue retention, DynamoDB PITR window."
  type        = number
}

variable "lambda_architecture" {
  description = "Instruction set of the Lambda functions (arm64 or x86_64)."
  type        = string
}

variable "allowed_account_ids" {
  description = "12-digit AWS account ids this environment may be applied to (the provider refuses any other account: guards against the wrong credentials). Empty list = no guard."
  type        = list(string)
  default     = []
}

variable "lambda_dist_dir" {
  description = "Folder of the packaged functions; default: dist/lambda at the repository root (where `make package` writes)."
  type        = string
  default     = null
}

variable "manage_apigateway_account_logging_role" {
  description = "Create and register API Gateway's account-wide CloudWatch Logs role (needed once per account and region for stage logging)."
  type        = bool
  default     = false
}

variable "alarm_emails" {
  description = "Addresses the alarm topic emails (each confirms its subscription once). Empty: alarms only reach the console and any extra actions."
  type        = list(string)
  default     = []
}

variable "break_glass_role_arn" {
  description = "The incident-response role that may read image data and use the key (the data perimeter lets nobody else of the account in); null: none."
  type        = string
  default     = null
}

variable "deployer_role_arns" {
  description = "The roles that run terraform plan/apply and `make key` here; null: this environment's pipeline roles (<project>-<environment>-cicd-plan / -cicd-apply). Add the role you deploy with by hand."
  type        = list(string)
  default     = null
}

variable "processing_mode" {
  description = "lambda (default), containers or split: who processes images (modules/pipeline variable processing_mode; docs/processing.md)."
  type        = string
  default     = "lambda"
}

variable "large_image_min_bytes" {
  description = "split mode: objects of this many bytes or more go to the container workers."
  type        = number
  default     = 4194304
}

variable "large_image_min_pixels" {
  description = "split mode: smaller objects whose header states this many pixels or more go to the container workers too (one ranged GET per object); null: the size alone decides."
  type        = number
  default     = null
}

variable "workers" {
  description = "The container workers of the containers and split modes (modules/pipeline variable workers: image by digest, repository, VPC, private subnets, route tables; optional sizes and bounds), or null."
  type        = any
  default     = null
}

variable "worker_image" {
  description = "The workers' image by digest, as the pipeline's image stage built it from this commit (it sets TF_VAR_worker_image); takes precedence over workers.image."
  type        = string
  default     = null
}

variable "worker_repository_arn" {
  description = "The pipeline's ECR repository of worker images (the cicd module sets TF_VAR_worker_repository_arn in the plan stage); takes precedence over workers.repository_arn."
  type        = string
  default     = null
}
