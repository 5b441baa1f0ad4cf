variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 4-32 lowercase letters, digits and hyphens, starting with a letter."
  }
}

variable "kms_key_arn" {
  description = "The environment's customer-managed key: encrypts the alarm topic (alarm texts name functions and queues)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN, not an alias or key id."
  }
}

variable "functions" {
  description = "Every function of the pipeline (key: short name): its full name and timeout. Each gets throttles and p99-duration alarms, and an errors alarm unless own_errors_alarm (its module has a domain-specific one)."
  type = map(object({
    name             = string
    timeout_seconds  = number
    own_errors_alarm = optional(bool, false)
  }))

  validation {
    condition     = length(var.functions) > 0 && alltrue([for f in values(var.functions) : f.timeout_seconds >= 1 && f.timeout_seconds <= 900])
    error_message = "functions must name at least one function, each with a timeout of 1-900 seconds."
  }
}

variable "api" {
  description = "The REST API to alarm on (5xx rate, p99 latency), or null."
  type = object({
    name  = string
    stage = string
  })
  default = null
}

variable "queue_names" {
  description = "Every queue of the pipeline, drawn on the dashboard's queue-depth widget (their depth alarms live with their modules)."
  type        = list(string)
  default     = []
}

variable "ingest_metrics" {
  description = "Per ingestion source, the metric (namespace metrics_namespace, dimension service) that counts what it accepted."
  type = map(object({
    name    = string
    service = string
  }))
  default = {
    api   = { name = "UploadsAccepted", service = "upload_api" }
    kafka = { name = "RecordsReceived", service = "kafka_ingest" }
  }
}

variable "metrics_namespace" {
  description = "The functions' Powertools metrics namespace."
  type        = string
  default     = "imgpipe"
}

variable "thresholds" {
  description = "Alarm thresholds. function_errors / function_throttles: per function per 5 minutes, alarm above; duration_p99_fraction_of_timeout: p99 duration as a share of the timeout; api_5xx_rate: share of requests; api_latency_p99_ms; processing_time_p99_ms: the processor's own time per image."
  type = object({
    function_errors                  = optional(number, 0)
    function_throttles               = optional(number, 0)
    duration_p99_fraction_of_timeout = optional(number, 0.8)
    api_5xx_rate                     = optional(number, 0.01)
    api_latency_p99_ms               = optional(number, 3000)
    processing_time_p99_ms           = optional(number, 10000)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.thresholds.function_errors >= 0 && var.thresholds.function_throttles >= 0 &&
      var.thresholds.duration_p99_fraction_of_timeout > 0 && var.thresholds.duration_p99_fraction_of_timeout < 1 &&
      var.thresholds.api_5xx_rate > 0 && var.thresholds.api_5xx_rate < 1 &&
      var.thresholds.api_latency_p99_ms > 0 && var.thresholds.processing_time_p99_ms > 0
    )
    error_message = "thresholds: counts >= 0, the timeout fraction and the 5xx rate strictly between 0 and 1, latencies > 0."
  }
}

variable "alarm_emails" {
  description = "Email addresses subscribed to the alarm topic (each confirms by email)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.alarm_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "alarm_emails must be email addresses."
  }
}

variable "extra_alarm_actions" {
  description = "More ARNs every alarm notifies (e.g. an existing on-call topic)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
