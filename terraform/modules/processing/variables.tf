variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\". The function becomes <name_prefix>-image_processor."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "retention_days" {
  description = "Days image-derived data is kept (1-7). Caps the function's log retention (the largest CloudWatch value <= retention_days)."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7: image-derived data is never kept longer than 7 days."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key: reads of raw objects, SSE-KMS writes of renditions, the queue's messages, the function's environment and log group."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id."
  }
}

variable "raw_bucket_name" {
  description = "Name of the raw image bucket (module storage)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be a valid S3 bucket name."
  }
}

variable "raw_bucket_arn" {
  description = "ARN of the raw image bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_arn))
    error_message = "raw_bucket_arn must be an S3 bucket ARN without an object path."
  }
}

variable "raw_prefix" {
  description = "Key prefix of raw objects. The processor reads, and deletes (rejected or orphaned images), only below it."
  type        = string
  default     = "raw/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.raw_prefix))
    error_message = "raw_prefix must be a non-empty relative key prefix ending with \"/\"."
  }
}

variable "processed_bucket_name" {
  description = "Name of the processed (renditions) bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.processed_bucket_name))
    error_message = "processed_bucket_name must be a valid S3 bucket name."
  }
}

variable "processed_bucket_arn" {
  description = "ARN of the processed bucket."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.processed_bucket_arn))
    error_message = "processed_bucket_arn must be an S3 bucket ARN without an object path."
  }
}

variable "processed_prefix" {
  description = "Key prefix of renditions in the processed bucket: <processed_prefix><image_id>/<rendition>.<ext>. The processor writes only below it."
  type        = string
  default     = "renditions/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.processed_prefix))
    error_message = "processed_prefix must be a non-empty relative key prefix ending with \"/\"."
  }
}

variable "table_name" {
  description = "Name of the metadata table (module metadata)."
  type        = string
}

variable "table_arn" {
  description = "ARN of the metadata table."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]+$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN."
  }
}

variable "queue_arn" {
  description = "ARN of the raw-events queue (module storage) that S3 notifies of new raw objects."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:sqs:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", var.queue_arn))
    error_message = "queue_arn must be an SQS queue ARN."
  }
}

variable "queue_visibility_timeout_seconds" {
  description = "The raw-events queue's visibility timeout. Must be at least 6 x timeout_seconds (AWS's guidance for SQS event sources, so a batch still being processed is never delivered twice); checked at plan time."
  type        = number
}

variable "queue_name" {
  description = "Name of the raw-events queue: the backlog-age alarm watches it."
  type        = string
}

variable "backlog_age_alarm_seconds" {
  description = "Alarm when the oldest raw-event message has waited longer than this for 5 minutes in a row."
  type        = number
  default     = 900

  validation {
    condition     = var.backlog_age_alarm_seconds >= 60 && floor(var.backlog_age_alarm_seconds) == var.backlog_age_alarm_seconds
    error_message = "backlog_age_alarm_seconds must be a whole number of at least 60."
  }
}

variable "dlq_name" {
  description = "Name of the raw-events dead-letter queue: the alarm fires when it holds any message."
  type        = string
}

variable "lambda_architecture" {
  description = "Instruction set of the function: \"arm64\" (Graviton, the default: cheaper per ms for this CPU-bound work) or \"x86_64\". The package must be built for the same one."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "function" {
  description = "Deployment package built outside Terraform (scripts/deploy/package): filename of the zip and source_code_hash = its base64 SHA-256."
  type = object({
    filename         = string
    source_code_hash = string
  })

  validation {
    condition     = endswith(var.function.filename, ".zip") && can(regex("^[A-Za-z0-9+/]{43}=$", var.function.source_code_hash))
    error_message = "function needs a .zip filename and source_code_hash = the base64-encoded SHA-256 of that zip (44 characters)."
  }
}

variable "memory_mb" {
  description = "Function memory. Lambda gives one full vCPU at 1769 MB; the engine is single-threaded and CPU-bound, so more buys nothing and less slows it down proportionally (a 24 MP JPEG peaks at ~60 MB RSS)."
  type        = number
  default     = 1769

  validation {
    condition     = var.memory_mb >= 512 && var.memory_mb <= 10240 && floor(var.memory_mb) == var.memory_mb
    error_message = "memory_mb must be a whole number between 512 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Function timeout. One batch of batch_size images must fit; the queue's visibility timeout must be at least 6 times this."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 10 && var.timeout_seconds <= 900 && floor(var.timeout_seconds) == var.timeout_seconds
    error_message = "timeout_seconds must be a whole number between 10 and 900."
  }
}

variable "image_budget_seconds" {
  description = "Wall-clock budget of one image in the engine (validate + decode + renditions); an image over it is REJECTED as too_expensive. The slowest image the caps admit takes ~1.2 s on one core (`make bench`, hostile)."
  type        = number
  default     = 10

  validation {
    condition     = var.image_budget_seconds >= 1 && var.image_budget_seconds <= 300 && floor(var.image_budget_seconds) == var.image_budget_seconds
    error_message = "image_budget_seconds must be a whole number between 1 and 300."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions of the processor (caps its share of the account and guarantees it). null = unreserved."
  type        = number
  default     = null

  validation {
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 1 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null or a whole number >= 1 (0 would stop processing)."
  }
}

variable "batch_size" {
  description = "Messages (S3 events) per invocation."
  type        = number
  default     = 5

  validation {
    condition     = var.batch_size >= 1 && var.batch_size <= 100 && floor(var.batch_size) == var.batch_size
    error_message = "batch_size must be a whole number between 1 and 100."
  }
}

variable "batching_window_seconds" {
  description = "How long the event source waits to fill a batch before invoking (0 = invoke as soon as messages arrive)."
  type        = number
  default     = 1

  validation {
    condition     = var.batching_window_seconds >= 0 && var.batching_window_seconds <= 300 && floor(var.batching_window_seconds) == var.batching_window_seconds
    error_message = "batching_window_seconds must be a whole number between 0 and 300."
  }
}

variable "maximum_concurrency" {
  description = "Upper bound on concurrent invocations by the SQS event source (2-1000). null = no bound beyond reserved_concurrency."
  type        = number
  default     = null

  validation {
    condition     = var.maximum_concurrency == null || try(var.maximum_concurrency >= 2 && var.maximum_concurrency <= 1000, false)
    error_message = "maximum_concurrency must be null or between 2 and 1000."
  }
}

variable "trigger_through_alias" {
  description = "Whether the SQS event source mapping invokes the `live` alias (a rollback is one alias update) rather than the unqualified function. Only envs/local turns it off: moto answers the mapping's FunctionArn with the version the alias resolved to, so every plan would show a change."
  type        = bool
  default     = true
}

variable "trigger_enabled" {
  description = "Whether the event source mapping polls the queue. Only an emulator that would invoke the function itself (moto, through Docker) turns it off; the local worker runs the mapping instead."
  type        = bool
  default     = true
}

variable "lambda_consumes_queue" {
  description = "Whether the function consumes the raw-events queue (an SQS event source mapping). false in the containers processing mode, where the workers consume it: the function stays, without a trigger, so switching back is one apply."
  type        = bool
  default     = true
}

variable "large_images" {
  description = "Split processing mode: the function passes every object of min_bytes or more on to this queue (the container workers'), unchanged, and with min_pixels every smaller object whose header states that many pixels or more (read from its first 256 KiB). null: it processes everything itself."
  type = object({
    queue_arn  = string
    queue_url  = string
    min_bytes  = number
    min_pixels = optional(number)
  })
  default = null

  validation {
    condition     = var.large_images == null || try(var.large_images.min_bytes >= 1 && floor(var.large_images.min_bytes) == var.large_images.min_bytes, false)
    error_message = "large_images.min_bytes must be a whole number of bytes, at least 1."
  }

  validation {
    condition     = try(var.large_images.min_pixels, null) == null || try(var.large_images.min_pixels >= 1 && floor(var.large_images.min_pixels) == var.large_images.min_pixels, false)
    error_message = "large_images.min_pixels must be a whole number of pixels, at least 1, or null."
  }

  validation {
    condition     = var.large_images == null || var.lambda_consumes_queue
    error_message = "large_images (split mode) needs the function to consume the raw-events queue: it is what routes."
  }
}

variable "renditions" {
  description = "What the processor makes of every image, in order: name (becomes part of the output key and of the API's links), max_edge (16-8192 px), format (jpeg, png, webp, avif), quality (1-100) and optional operations (crop_aspect [w, h], grayscale, autocontrast, blur_radius, sharpen, watermark)."
  type = list(object({
    name     = string
    max_edge = number
    format   = string
    quality  = optional(number, 82)
    operations = optional(object({
      crop_aspect  = optional(list(number))
      grayscale    = optional(bool, false)
      autocontrast = optional(bool, false)
      blur_radius  = optional(number, 0)
      sharpen      = optional(bool, false)
      watermark    = optional(string)
    }), {})
  }))
  default = [
    { name = "large", max_edge = 1280, format = "jpeg", quality = 82 },
    { name = "medium", max_edge = 640, format = "jpeg", quality = 82 },
    { name = "thumb", max_edge = 160, format = "jpeg", quality = 80 },
    { name = "large_webp", max_edge = 1280, format = "webp", quality = 80 },
  ]

  validation {
    condition     = length(var.renditions) >= 1 && length(var.renditions) <= 12 && length(distinct([for r in var.renditions : r.name])) == length(var.renditions)
    error_message = "renditions must hold 1-12 entries with unique names."
  }

  validation {
    condition = alltrue([
      for r in var.renditions :
      can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", r.name)) && contains(["jpeg", "png", "webp", "avif"], r.format) &&
      r.max_edge >= 16 && r.max_edge <= 8192 && r.quality >= 1 && r.quality <= 100
    ])
    error_message = "Each rendition needs a name of lowercase letters, digits, _ or - (1-32), a format of jpeg, png, webp or avif, max_edge 16-8192 and quality 1-100."
  }
}

variable "max_upload_bytes" {
  description = "Largest raw object the processor reads (bytes). Larger ones are REJECTED as too_large without being read."
  type        = number
  default     = 10485760

  validation {
    condition     = var.max_upload_bytes >= 1 && var.max_upload_bytes <= 10485760 && floor(var.max_upload_bytes) == var.max_upload_bytes
    error_message = "max_upload_bytes must be a whole number between 1 and 10485760 (10 MiB)."
  }
}

variable "malware_scan" {
  description = "required: process only raw objects GuardDuty Malware Protection tagged NO_THREATS_FOUND (wait for the tag; refuse THREATS_FOUND and scans that could not run). observed: no scan is set up here; a THREATS_FOUND tag is still refused. Set required wherever the security module protects the raw bucket."
  type        = string
  default     = "required"
  validation {
    condition     = contains(["required", "observed"], var.malware_scan)
    error_message = "malware_scan is required or observed."
  }
}

variable "log_level" {
  description = "The function's log level."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR."
  }
}

variable "alarm_actions" {
  description = "ARNs (e.g. SNS topics) notified when the dead-letter queue holds messages or the function errors."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Extra tags for every resource (cannot replace imgpipe:function)."
  type        = map(string)
  default     = {}
}
