variable "name_prefix" {
  description = "Name prefix of the stack this pipeline deploys, \"<project>-<environment>\" (the pipeline module's name_prefix). The deploy role is scoped to it; the pipeline's own resources are <name_prefix>-cicd-*."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "environment" {
  description = "The root module the pipeline plans and applies: terraform/envs/<environment>."
  type        = string

  validation {
    condition     = contains(["staging", "prod"], var.environment)
    error_message = "environment must be staging or prod (envs/local runs on the emulator, not in a pipeline)."
  }
}

variable "repository" {
  description = "Where the source comes from. provider = \"CodeStarSourceConnection\": id is \"owner/repo\" on the Git host of connection_arn (a CodeConnections/CodeStar connection, authorised once in the console). provider = \"CodeCommit\": id is the repository name (where CodeCommit is still offered)."
  type = object({
    provider       = string
    id             = string
    branch         = optional(string, "main")
    connection_arn = optional(string)
  })

  validation {
    condition     = contains(["CodeStarSourceConnection", "CodeCommit"], var.repository.provider)
    error_message = "repository.provider must be CodeStarSourceConnection or CodeCommit."
  }

  validation {
    condition = var.repository.provider != "CodeStarSourceConnection" || (
      can(regex("^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/[A-Za-z0-9-]+$", coalesce(var.repository.connection_arn, "-"))) &&
      can(regex("^[^/\\s]+/[^/\\s]+$", var.repository.id))
    )
    error_message = "A CodeStarSourceConnection source needs connection_arn (a codeconnections or codestar-connections connection ARN) and id \"owner/repo\"."
  }

  validation {
    condition     = var.repository.provider != "CodeCommit" || can(regex("^[A-Za-z0-9._-]{1,100}$", var.repository.id))
    error_message = "A CodeCommit source needs id = the repository name."
  }
}

variable "manual_approval" {
  description = "Stop between plan and apply until someone approves the plan. On by default; prod cannot turn it off."
  type        = bool
  default     = true

  validation {
    condition     = var.manual_approval || var.environment != "prod"
    error_message = "prod is applied only after a manual approval: manual_approval cannot be false for environment = \"prod\"."
  }
}

variable "approval_topic_arn" {
  description = "SNS topic told when a plan waits for approval (e.g. the observability module's alarm topic, or a team's). Null: nobody is notified; the approval waits in the console."
  type        = string
  default     = null
}

variable "state" {
  description = "The environment's Terraform state backend, as `make bootstrap ENV=<environment>` made it (its backend.hcl): bucket, key, region, and the state's KMS key ARN."
  type = object({
    bucket      = string
    key         = string
    region      = string
    kms_key_arn = string
  })

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state.bucket)) && length(var.state.key) > 0 && !startswith(var.state.key, "/")
    error_message = "state.bucket must be an S3 bucket name and state.key a non-empty object key without a leading slash."
  }

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.state.kms_key_arn))
    error_message = "state.kms_key_arn must be a KMS key ARN (make bootstrap prints it)."
  }
}

variable "terraform_version" {
  description = "Terraform the plan and apply stages install (checked against HashiCorp's SHA-256 sums). Plan and apply use the same one."
  type        = string
  default     = "1.11.4"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.terraform_version)) && tonumber(split(".", var.terraform_version)[0]) >= 1 && (tonumber(split(".", var.terraform_version)[0]) > 1 || tonumber(split(".", var.terraform_version)[1]) >= 10)
    error_message = "terraform_version must be an exact version, 1.10.0 or later (S3 lock files)."
  }
}

variable "tflint_version" {
  description = "tflint the test stage installs (checked against the release's checksums) for `make lint`."
  type        = string
  default     = "0.55.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.tflint_version))
    error_message = "tflint_version must be an exact version such as 0.55.1."
  }
}

variable "build_image" {
  description = "CodeBuild image of every stage. The default (Ubuntu, x86_64) has Python 3.12 and Google Chrome, which `make test` uses; the Lambda zips are built for arm64 from wheels whatever the build host."
  type        = string
  default     = "aws/codebuild/standard:7.0"
}

variable "compute_type" {
  description = "CodeBuild compute type. `make test` runs the emulator, the broker and Terraform side by side: 2 vCPUs or more."
  type        = string
  default     = "BUILD_GENERAL1_MEDIUM"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE", "BUILD_GENERAL1_XLARGE", "BUILD_GENERAL1_2XLARGE"], var.compute_type)
    error_message = "compute_type must be one of CodeBuild's BUILD_GENERAL1_* Linux types."
  }
}

variable "artifact_retention_days" {
  description = "Days pipeline artifacts (source, packages, saved plans) are kept. A saved plan can hold sensitive values; keep this short."
  type        = number
  default     = 14

  validation {
    condition     = var.artifact_retention_days >= 1 && var.artifact_retention_days <= 90 && floor(var.artifact_retention_days) == var.artifact_retention_days
    error_message = "artifact_retention_days must be a whole number between 1 and 90."
  }
}

variable "log_retention_days" {
  description = "Retention of the build logs: the record of what was tested, planned and applied (no image data; plan summaries name attributes, never values)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "image_build_image" {
  description = "CodeBuild image of the image stage: an arm64 host (the workers run on Graviton), with Docker."
  type        = string
  default     = "aws/codebuild/amazonlinux-aarch64-standard:3.0"
}

variable "image_compute_type" {
  description = "CodeBuild compute type of the image stage (an ARM container: BUILD_GENERAL1_SMALL or BUILD_GENERAL1_LARGE)."
  type        = string
  default     = "BUILD_GENERAL1_SMALL"

  validation {
    condition     = contains(["BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_LARGE"], var.image_compute_type)
    error_message = "image_compute_type must be BUILD_GENERAL1_SMALL or BUILD_GENERAL1_LARGE (what ARM containers offer)."
  }
}

variable "worker_images_kept" {
  description = "How many worker images the repository keeps (older ones expire): each is a possible rollback."
  type        = number
  default     = 30

  validation {
    condition     = var.worker_images_kept >= 5 && var.worker_images_kept <= 1000
    error_message = "worker_images_kept must be 5-1000."
  }
}
