variable "name" {
  description = "Function name; also the execution role's name and the log group's (/aws/lambda/<name>). imgpipe names it <name_prefix>-<lambdas/ folder>: the pipeline builds role ARNs from it."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.name))
    error_message = "name must be 1-64 letters, digits, hyphens or underscores (Lambda's and IAM's common limit)."
  }
}

variable "description" {
  description = "What the function does, shown in the Lambda console."
  type        = string
  default     = ""

  validation {
    condition     = length(var.description) <= 256
    error_message = "description must be at most 256 characters."
  }
}

variable "package" {
  description = "Deployment package built outside Terraform (scripts/deploy/package): filename of the zip and source_code_hash = its base64 SHA-256."
  type = object({
    filename         = string
    source_code_hash = string
  })

  validation {
    condition     = endswith(var.package.filename, ".zip") && can(regex("^[A-Za-z0-9+/]{43}=$", var.package.source_code_hash))
    error_message = "package needs a .zip filename and source_code_hash = the base64-encoded SHA-256 of that zip (44 characters)."
  }
}

variable "runtime" {
  description = "Lambda runtime. The packages are built for one Python version (requirements/lambda.lock)."
  type        = string
  default     = "python3.12"

  validation {
    condition     = can(regex("^python3\\.(1[1-9])$", var.runtime))
    error_message = "runtime must be a python3.x runtime of 3.11 or later."
  }
}

variable "handler" {
  description = "Entry point, <module>.<function> inside the package."
  type        = string
  default     = "handler.handler"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)+$", var.handler))
    error_message = "handler must look like module.function."
  }
}

variable "architecture" {
  description = "Instruction set: \"arm64\" (Graviton, cheaper per ms) or \"x86_64\". The package must be built for the same one (native wheels)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "memory_size" {
  description = "Memory in MB (Lambda gives one full vCPU at 1769 MB)."
  type        = number
  default     = 512

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions (caps the function's share of the account and guarantees it). null = unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null or a whole number >= 1 (0 would stop the function)."
  }
}

variable "environment_variables" {
  description = "The function's environment, encrypted at rest with kms_key_arn. Never put a secret here: it is in the plan and the state."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key that encrypts the function's environment and its log group. Required: there is no unencrypted mode."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id."
  }
}

variable "log_retention_days" {
  description = "Upper bound on how long the log group keeps a line. The log group takes the largest retention CloudWatch accepts (1, 3, 5, 7, 14, 30, … 3653) that does not exceed it; logs never expire is not an option."
  type        = number

  validation {
    condition     = var.log_retention_days >= 1 && var.log_retention_days <= 3653 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number of days between 1 and 3653 (CloudWatch's bounds)."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing: \"Active\" samples and traces every invocation; \"PassThrough\" only traces requests an upstream service sampled."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be \"Active\" or \"PassThrough\"."
  }
}

variable "policy_statements" {
  description = "The function's own IAM statements (objects with Sid, Effect, Action, Resource and optional Condition), in the role's inline policy before the two the module adds (WriteOwnLogs on its log group, WriteTraces for X-Ray)."
  type        = any

  validation {
    condition = can([for s in var.policy_statements : s.Sid]) && alltrue([
      for s in var.policy_statements :
      can(regex("^[A-Za-z0-9]+$", s.Sid)) && s.Effect == "Allow" && !contains(["WriteOwnLogs", "WriteTraces"], s.Sid)
    ])
    error_message = "policy_statements must be a list of Allow statements, each with an alphanumeric Sid other than WriteOwnLogs and WriteTraces (the module's own)."
  }

  validation {
    condition = alltrue([
      for s in var.policy_statements : alltrue([for a in flatten([s.Action]) : !strcontains(a, "*")])
    ])
    error_message = "No action may be a wildcard: name every action the function calls."
  }

  # "*" only where AWS offers no resource-level scoping: the network-interface calls of a function or event
  # source in a VPC. Any data resource must be named.
  validation {
    condition = alltrue([
      for s in var.policy_statements : !contains(flatten([s.Resource]), "*") || alltrue([
        for a in flatten([s.Action]) : contains([
          "ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
          "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups",
        ], a)
      ])
    ])
    error_message = "A statement may only name Resource \"*\" for EC2 network-interface calls, which take no resource-level scoping; name every data resource."
  }
}

variable "alarms" {
  description = "Function-level CloudWatch alarms, each created only when given: errors (Sum above threshold per period_seconds; description replaces the default text), throttles (Sum above threshold per 5 minutes), duration_p99 (p99 above fraction_of_timeout of the timeout in 2 of 3 5-minute periods). actions: ARNs notified on ALARM and OK."
  type = object({
    actions = optional(list(string), [])
    errors = optional(object({
      threshold      = optional(number, 0)
      period_seconds = optional(number, 300)
      description    = optional(string)
    }))
    throttles = optional(object({
      threshold = optional(number, 0)
    }))
    duration_p99 = optional(object({
      fraction_of_timeout = optional(number, 0.8)
    }))
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      (var.alarms.errors == null || try(var.alarms.errors.threshold >= 0 && var.alarms.errors.period_seconds >= 60 && var.alarms.errors.period_seconds % 60 == 0, false)) &&
      (var.alarms.throttles == null || try(var.alarms.throttles.threshold >= 0, false)) &&
      (var.alarms.duration_p99 == null || try(var.alarms.duration_p99.fraction_of_timeout > 0 && var.alarms.duration_p99.fraction_of_timeout < 1, false))
    )
    error_message = "alarms: thresholds >= 0, errors.period_seconds a multiple of 60, duration_p99.fraction_of_timeout strictly between 0 and 1."
  }

  validation {
    condition     = alltrue([for a in var.alarms.actions : can(regex("^arn:aws[a-z-]*:", a))])
    error_message = "alarms.actions must be ARNs (e.g. SNS topics)."
  }
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "function_tags" {
  description = "Tags of the function only, applied after tags and Name so that no caller tag can replace them (imgpipe:function names the lambdas/ folder the local runtime loads the code from)."
  type        = map(string)
  default     = {}
}
