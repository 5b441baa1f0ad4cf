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

variable "endpoint_url" {
  description = "Endpoint of the local AWS emulator used for every service (moto server by default)."
  type        = string
  default     = "http://127.0.0.1:4566"

  validation {
    condition     = can(regex("^https?://[^/]+", var.endpoint_url))
    error_message = "endpoint_url must start with http:// or https:// followed by a host."
  }
}

variable "lambda_dist_dir" {
  description = "Folder of the packaged functions; default: dist/lambda at the repository root (where `make package` writes)."
  type        = string
  default     = null
}

variable "kafka_bootstrap_servers" {
  description = "The embedded (or KAFKA_BOOTSTRAP_SERVERS) broker, set by scripts/deploy/tf from the local stack."
  type        = string
  default     = "127.0.0.1:19092"
}

variable "web_origins" {
  description = "Origins of the web app as the local stack serves it: set by scripts/deploy/tf.py from the local gateway's port (IMGPIPE_API_PORT). The raw bucket lets them POST upload forms; the API answers their CORS."
  type        = list(string)
  default     = []
}

variable "processing_mode" {
  description = "lambda, containers or split (modules/pipeline). Locally the workers' tasks run as processes of the package (scripts/local/workers.py): `make up PROCESSING_MODE=split`."
  type        = string
  default     = "split"
}

variable "large_image_min_bytes" {
  description = "split mode: objects of this many bytes or more go to the container workers."
  type        = number
  default     = 4194304
}

variable "large_image_min_pixels" {
  description = "split mode: smaller objects whose header states this many pixels or more go to the container workers too (one ranged GET per object); null: the size alone decides."
  type        = number
  default     = 24000000
}

variable "worker_tasks" {
  description = "How many worker tasks run locally (the service's min_tasks: locally there is no autoscaler to add more)."
  type        = number
  default     = 2
}
