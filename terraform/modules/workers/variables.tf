variable "name_prefix" {
  description = "Prefix of every resource name, e.g. imgpipe-prod."
  type        = string
}

variable "image" {
  description = "The worker image (containers/image_processor), by digest: <account>.dkr.ecr.<region>.amazonaws.com/<repo>@sha256:<digest>. A tag could move under a running service."
  type        = string

  validation {
    condition     = can(regex("^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/[a-z0-9._/-]+@sha256:[0-9a-f]{64}$", var.image))
    error_message = "image must be an ECR image referenced by digest (…@sha256:<64 hex>)."
  }
}

variable "repository_arn" {
  description = "The ECR repository the image is pulled from (the execution role may pull from it alone)."
  type        = string
}

variable "architecture" {
  description = "CPU architecture of the tasks: ARM64 (Graviton, cheaper) or X86_64; the image must be built for it."
  type        = string
  default     = "ARM64"

  validation {
    condition     = contains(["ARM64", "X86_64"], var.architecture)
    error_message = "architecture must be ARM64 or X86_64."
  }
}

variable "cpu" {
  description = "Task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory in MiB (a valid Fargate pairing with cpu)."
  type        = number
  default     = 2048
}

variable "queue_arn" {
  description = "The queue the workers poll (the raw events queue, or the split mode's large-image queue)."
  type        = string
}

variable "queue_url" {
  description = "URL of that queue (the worker's QUEUE_URL)."
  type        = string
}

variable "queue_name" {
  description = "Name of that queue (its CloudWatch metrics' dimension)."
  type        = string
}

variable "dlq_name" {
  description = "The dead-letter queue of that queue when the workers own it (split mode): then its backlog age and dead letters are alarmed here. null when the queue's owner alarms on it (containers mode: modules/processing)."
  type        = string
  default     = null
}

variable "backlog_age_alarm_seconds" {
  description = "With dlq_name: alarm when the queue's oldest message has waited this long."
  type        = number
  default     = 900
}

variable "kms_key_arn" {
  description = "The environment's CMK: it encrypts the queue, the stores and the log group."
  type        = string
}

variable "processor_statements" {
  description = "The processor's IAM statements (modules/processing output processor_statements): the task role gets these and nothing more."
  type        = any
}

variable "environment" {
  description = "The processor's settings (modules/processing output environment: buckets, table, prefixes, renditions, budget); QUEUE_URL and the WORKER_* settings are added here."
  type        = map(string)
}

variable "vpc_id" {
  description = "The VPC the tasks run in."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (no public IP is ever assigned; AWS is reached through the VPC endpoints made here)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "Give at least two private subnets (two availability zones)."
  }
}

variable "route_table_ids" {
  description = "Route tables of those subnets (for the S3 and DynamoDB gateway endpoints)."
  type        = list(string)
}

variable "min_tasks" {
  description = "Fewest tasks: 0 lets the service scale to zero when the queue is empty."
  type        = number
  default     = 0
}

variable "max_tasks" {
  description = "Most tasks: the bound on cost and on concurrent load on the table and buckets."
  type        = number
  default     = 10

  validation {
    condition     = var.max_tasks >= 1 && var.max_tasks <= 200
    error_message = "max_tasks must be 1-200."
  }
}

variable "seconds_per_image" {
  description = "Measured time one task takes per image (make bench: engine time plus I/O); with acceptable_latency_seconds it sets the backlog each task may hold."
  type        = number
  default     = 1.5
}

variable "acceptable_latency_seconds" {
  description = "How long an image may wait in the queue once the service has scaled: the target backlog per task is this ÷ seconds_per_image."
  type        = number
  default     = 60
}

variable "spot_weight" {
  description = "Share of tasks on FARGATE_SPOT (interruptible, ~70% cheaper) against fargate_weight."
  type        = number
  default     = 3
}

variable "fargate_weight" {
  description = "Share of tasks on on-demand FARGATE beyond fargate_base."
  type        = number
  default     = 1
}

variable "fargate_base" {
  description = "Tasks that always run on on-demand FARGATE before the weights apply (0: all may be Spot)."
  type        = number
  default     = 0
}

variable "drain_seconds" {
  description = "How long a worker may finish its image after SIGTERM (Fargate Spot gives 120 s; the task's stopTimeout is this + 15 s)."
  type        = number
  default     = 100

  validation {
    condition     = var.drain_seconds >= 0 && var.drain_seconds <= 105
    error_message = "drain_seconds must be 0-105: Fargate stops a task at most 120 s after SIGTERM."
  }
}

variable "poll_wait_seconds" {
  description = "How long each receive waits for messages (SQS long polling, WORKER_WAIT_SECONDS): 20 costs an idle task one request per 20 s; a shorter wait only makes an idle task notice SIGTERM sooner."
  type        = number
  default     = 20

  validation {
    condition     = var.poll_wait_seconds >= 1 && var.poll_wait_seconds <= 20 && floor(var.poll_wait_seconds) == var.poll_wait_seconds
    error_message = "poll_wait_seconds must be a whole number of seconds, 1-20 (SQS's long-polling range; 0 would poll without waiting)."
  }
}

variable "log_retention_days" {
  description = "Retention of the workers' logs (they name image ids: at most the images' own window)."
  type        = number
  default     = 7
}

variable "alarm_actions" {
  description = "SNS topics notified by the alarms and of Spot interruptions."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
