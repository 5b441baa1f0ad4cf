variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\" (e.g. \"imgpipe-prod\"). The API becomes <name_prefix>-api, the functions <name_prefix>-upload_api / <name_prefix>-api_authorizer."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of lowercase letters, digits and hyphens, start with a letter and not end with a hyphen."
  }
}

variable "retention_days" {
  description = "Days image-derived data is kept (1-7). Passed to upload_api (items expire after it) and caps every log group's retention (the largest CloudWatch value <= retention_days)."
  type        = number
  default     = 7

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 7 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days must be a whole number between 1 and 7: image-derived data is never kept longer than 7 days."
  }
}

variable "kms_key_arn" {
  description = "ARN of the environment's customer-managed KMS key: encrypts the API-key secret, the function environments and every log group; upload_api uses it for SSE-KMS writes and reads."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>), not an alias or key id."
  }
}

variable "raw_bucket_name" {
  description = "Name of the raw image bucket (module storage) that uploads are written to."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_name))
    error_message = "raw_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "raw_bucket_arn" {
  description = "ARN of the raw image bucket (arn:<partition>:s3:::<name>)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.raw_bucket_arn))
    error_message = "raw_bucket_arn must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>), without an object path."
  }
}

variable "raw_prefix" {
  description = "Key prefix in the raw bucket under which upload_api writes (and may delete) objects. upload_api's S3 permissions are limited to it."
  type        = string
  default     = "raw/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.raw_prefix))
    error_message = "raw_prefix must be a non-empty relative key prefix ending with \"/\" (e.g. \"raw/\"), without a leading slash."
  }
}

variable "processed_bucket_name" {
  description = "Name of the processed (renditions) bucket; upload_api signs short-lived GET links to its objects."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.processed_bucket_name))
    error_message = "processed_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)."
  }
}

variable "processed_bucket_arn" {
  description = "ARN of the processed (renditions) bucket (arn:<partition>:s3:::<name>)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.processed_bucket_arn))
    error_message = "processed_bucket_arn must be an S3 bucket ARN (arn:<partition>:s3:::<bucket>), without an object path."
  }
}

variable "processed_prefix" {
  description = "Key prefix of renditions in the processed bucket (module processing's processed_prefix). DELETE /v1/images/{image_id} purges renditions only below it."
  type        = string
  default     = "renditions/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$", var.processed_prefix))
    error_message = "processed_prefix must be a non-empty relative key prefix ending with \"/\"."
  }
}

variable "table_name" {
  description = "Name of the image metadata table (module metadata)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.table_name))
    error_message = "table_name must be a valid DynamoDB table name (3-255 letters, digits, '_', '-', '.')."
  }
}

variable "table_arn" {
  description = "ARN of the image metadata table; upload_api may read/write items of it and query its indexes (<table_arn>/index/*)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[A-Za-z0-9_.-]{3,255}$", var.table_arn))
    error_message = "table_arn must be a DynamoDB table ARN (arn:<partition>:dynamodb:<region>:<account>:table/<name>)."
  }
}

variable "lambda_architecture" {
  description = "Instruction set of both functions: arm64 (cheaper, default) or x86_64. Must match the architecture the zips were built for (scripts/deploy/package --arch)."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "functions" {
  description = "Deployment packages built outside Terraform (scripts/deploy/package), keyed by the lambdas/ folder name: exactly \"upload_api\" and \"api_authorizer\". filename is the zip path, source_code_hash its base64 SHA-256 (manifest.json, or filebase64sha256(filename))."
  type = map(object({
    filename         = string
    source_code_hash = string
  }))

  validation {
    condition     = toset(keys(var.functions)) == toset(["upload_api", "api_authorizer"])
    error_message = "functions must have exactly the keys \"upload_api\" and \"api_authorizer\" (the lambdas/ folder names)."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : endswith(f.filename, ".zip") && can(regex("^[A-Za-z0-9+/]{43}=$", f.source_code_hash))])
    error_message = "Each function needs a .zip filename and source_code_hash = the base64-encoded SHA-256 of that zip (44 characters)."
  }
}

variable "max_upload_bytes" {
  description = "Largest image accepted through a presigned POST, in bytes (1-10485760). Direct PUT uploads are further capped at 4 MiB by upload_api (API Gateway's 6 MB Lambda payload limit, base64)."
  type        = number
  default     = 10485760

  validation {
    condition     = var.max_upload_bytes >= 1 && var.max_upload_bytes <= 10485760 && floor(var.max_upload_bytes) == var.max_upload_bytes
    error_message = "max_upload_bytes must be a whole number between 1 and 10485760 (10 MiB)."
  }
}

variable "presign_seconds" {
  description = "Lifetime of presigned upload POSTs, in seconds (1-900)."
  type        = number
  default     = 300

  validation {
    condition     = var.presign_seconds >= 1 && var.presign_seconds <= 900 && floor(var.presign_seconds) == var.presign_seconds
    error_message = "presign_seconds must be a whole number between 1 and 900."
  }
}

variable "throttling_rate_limit" {
  description = "Steady-state request rate (requests/second) allowed on every method of the stage."
  type        = number
  default     = 50

  validation {
    condition     = var.throttling_rate_limit > 0 && var.throttling_rate_limit <= 10000
    error_message = "throttling_rate_limit must be greater than 0 and at most 10000 requests per second."
  }
}

variable "throttling_burst_limit" {
  description = "Burst (bucket size, requests) allowed on every method of the stage."
  type        = number
  default     = 100

  validation {
    condition     = var.throttling_burst_limit >= 1 && var.throttling_burst_limit <= 5000 && floor(var.throttling_burst_limit) == var.throttling_burst_limit
    error_message = "throttling_burst_limit must be a whole number between 1 and 5000."
  }
}

variable "waf_enabled" {
  description = "Protect the stage with a regional WAFv2 web ACL (AWS managed common + known-bad-inputs rules, per-IP rate limit), logged to CloudWatch. Only emulators without WAF support for API Gateway stages turn it off."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5min" {
  description = "Requests one client IP may send in any 5-minute window before the WAF blocks it (answers 429)."
  type        = number
  default     = 2000

  validation {
    condition     = var.waf_rate_limit_per_5min >= 10 && var.waf_rate_limit_per_5min <= 2000000000 && floor(var.waf_rate_limit_per_5min) == var.waf_rate_limit_per_5min
    error_message = "waf_rate_limit_per_5min must be a whole number between 10 and 2000000000 (WAF rate-based rule limits)."
  }
}

variable "cors_allowed_origins" {
  description = "Browser origins allowed to call the API (CORS preflight answered by OPTIONS mock methods). [] (default) = no CORS at all. Exact origins only (https://host[:port]; http only for localhost/127.0.0.1), never \"*\"."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for o in var.cors_allowed_origins :
      can(regex("^https://[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?(:[0-9]{1,5})?$", o)) ||
      can(regex("^http://(localhost|127\\.0\\.0\\.1)(:[0-9]{1,5})?$", o))
    ])
    error_message = "cors_allowed_origins entries must be exact lowercase origins such as \"https://app.example.com\" (http only for localhost/127.0.0.1), without a path or trailing slash; \"*\" is not allowed."
  }
}

variable "upload_api_memory_mb" {
  description = "Memory of upload_api in MB (128-10240). Direct uploads validate images of up to 4 MiB in memory; CPU scales with memory."
  type        = number
  default     = 1024

  validation {
    condition     = var.upload_api_memory_mb >= 128 && var.upload_api_memory_mb <= 10240 && floor(var.upload_api_memory_mb) == var.upload_api_memory_mb
    error_message = "upload_api_memory_mb must be a whole number between 128 and 10240."
  }
}

variable "upload_api_timeout_seconds" {
  description = "Timeout of upload_api in seconds (1-29): API Gateway gives up on an integration after 29 s, so a longer timeout would only bill work nobody waits for."
  type        = number
  default     = 29

  validation {
    condition     = var.upload_api_timeout_seconds >= 1 && var.upload_api_timeout_seconds <= 29 && floor(var.upload_api_timeout_seconds) == var.upload_api_timeout_seconds
    error_message = "upload_api_timeout_seconds must be a whole number between 1 and 29 (API Gateway's integration timeout)."
  }
}

variable "upload_api_reserved_concurrency" {
  description = "Reserved concurrent executions of upload_api, so that a burst of expensive uploads cannot starve the account's other functions (null = unreserved). AWS keeps 100 of the account's concurrency unreserved: the account limit must exceed 100 + this."
  type        = number
  default     = null

  validation {
    condition     = var.upload_api_reserved_concurrency == null || try(var.upload_api_reserved_concurrency >= 1 && floor(var.upload_api_reserved_concurrency) == var.upload_api_reserved_concurrency, false)
    error_message = "upload_api_reserved_concurrency must be null or a whole number >= 1 (0 would stop the API)."
  }
}

variable "api_authorizer_memory_mb" {
  description = "Memory of api_authorizer in MB (128-10240)."
  type        = number
  default     = 256

  validation {
    condition     = var.api_authorizer_memory_mb >= 128 && var.api_authorizer_memory_mb <= 10240 && floor(var.api_authorizer_memory_mb) == var.api_authorizer_memory_mb
    error_message = "api_authorizer_memory_mb must be a whole number between 128 and 10240."
  }
}

variable "api_authorizer_timeout_seconds" {
  description = "Timeout of api_authorizer in seconds (1-29). It reads one cached secret and hashes one key: a few seconds is plenty."
  type        = number
  default     = 5

  validation {
    condition     = var.api_authorizer_timeout_seconds >= 1 && var.api_authorizer_timeout_seconds <= 29 && floor(var.api_authorizer_timeout_seconds) == var.api_authorizer_timeout_seconds
    error_message = "api_authorizer_timeout_seconds must be a whole number between 1 and 29."
  }
}

variable "log_level" {
  description = "LOG_LEVEL of upload_api (Powertools Logger): DEBUG, INFO, WARNING or ERROR. Request and response bodies are never logged at any level."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "stage_name" {
  description = "Name of the API Gateway stage (and first path segment of invoke_url): 2-16 lowercase letters/digits, starting with a letter."
  type        = string
  default     = "live"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.stage_name))
    error_message = "stage_name must match ^[a-z][a-z0-9]{1,15}$ (e.g. \"live\")."
  }
}

variable "web_users" {
  description = "Accept Cognito access tokens (`Authorization: Bearer <token>`) besides API keys: the user pool's issuer, the app client ids whose tokens are accepted, and its JWKS URL (modules/identity output jwt). null: API keys only."
  type = object({
    issuer     = string
    client_ids = list(string)
    jwks_url   = string
  })
  default = null

  validation {
    condition     = var.web_users == null || try(can(regex("^https://cognito-idp\\.[a-z0-9-]+\\.amazonaws\\.com/[\\w-]+_[0-9A-Za-z]+$", var.web_users.issuer)) && length(var.web_users.client_ids) > 0, false)
    error_message = "web_users.issuer must be a Cognito user pool issuer (https://cognito-idp.<region>.amazonaws.com/<pool id>) with at least one client id."
  }
}

variable "quotas" {
  description = "Per-tenant limits enforced by upload_api with conditional DynamoDB counters (429 + Retry-After): requests per minute, and uploads (count and bytes) per UTC day. default applies to every tenant not in tenants; a tenant's entry overrides the limits it names."
  type = object({
    default = optional(object({
      uploads_per_day     = optional(number, 10000)
      bytes_per_day       = optional(number, 10737418240)
      requests_per_minute = optional(number, 600)
    }), {})
    tenants = optional(map(object({
      uploads_per_day     = optional(number)
      bytes_per_day       = optional(number)
      requests_per_minute = optional(number)
    })), {})
  })
  default  = {}
  nullable = false

  validation {
    condition = alltrue(flatten([
      [for v in values(var.quotas.default) : v >= 1 && floor(v) == v],
      [for t in values(var.quotas.tenants) : [for v in values(t) : v == null ? true : v >= 1 && floor(v) == v]],
    ]))
    error_message = "Every quota limit must be a whole number of at least 1."
  }

  validation {
    condition     = alltrue([for tenant in keys(var.quotas.tenants) : can(regex("^[a-z0-9][a-z0-9-]{0,62}$", tenant))])
    error_message = "quotas.tenants keys must be tenant ids (1-63 lowercase letters, digits or hyphens)."
  }

  validation {
    # Lambda's environment holds 4 KB in all; the rest of upload_api's settings need about 1 KB.
    condition     = length(jsonencode(var.quotas)) <= 2500
    error_message = "quotas is too large for the function's environment (at most ~2.5 KB of JSON): set fewer per-tenant overrides."
  }
}

variable "api_keys_deletion_protection" {
  description = "Refuse to delete the API-key table (every issued key's record)."
  type        = bool
  default     = true
}

variable "api_keys_cache_seconds" {
  description = "How long api_authorizer caches a key's record between reads of the key table (API_KEYS_CACHE_SECONDS, 0-60 s): a revoked key keeps working at most this long."
  type        = number
  default     = 60

  validation {
    condition     = var.api_keys_cache_seconds >= 0 && var.api_keys_cache_seconds <= 60 && floor(var.api_keys_cache_seconds) == var.api_keys_cache_seconds
    error_message = "api_keys_cache_seconds must be a whole number between 0 and 60 (the promised revocation delay)."
  }
}

variable "api_keys_secret_recovery_window_days" {
  description = "Days a deleted API-key registry secret can still be restored: 0 (delete at once; throw-away environments only) or 7-30."
  type        = number
  default     = 30

  validation {
    condition     = var.api_keys_secret_recovery_window_days == 0 || (var.api_keys_secret_recovery_window_days >= 7 && var.api_keys_secret_recovery_window_days <= 30 && floor(var.api_keys_secret_recovery_window_days) == var.api_keys_secret_recovery_window_days)
    error_message = "api_keys_secret_recovery_window_days must be 0 or a whole number between 7 and 30."
  }
}

variable "manage_apigateway_account_logging_role" {
  description = "Create the CloudWatch Logs role for API Gateway and register it in the account's API Gateway settings (aws_api_gateway_account). That setting is ACCOUNT-WIDE per region and shared by every REST API in it: leave false (default) where the landing zone or another stack already manages it; set true in exactly one stack per account and region. Stage logging fails to apply while the account has no such role."
  type        = bool
  default     = false
}

variable "set_binary_media_types" {
  description = "Register image/* as binary media type on the REST API, so direct uploads reach upload_api intact (base64). Only emulators that cannot hold binaryMediaTypes turn it off: moto 5.x ignores them on CreateRestApi and stores \"\" for the provider's PATCH, so the plan would never be clean."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags added to every resource (provider default_tags are merged by the AWS provider). The functions' imgpipe:function tag cannot be overridden."
  type        = map(string)
  default     = {}
}

variable "idempotency_seconds" {
  description = "How long a PUT /v1/images answer is replayed for a retry with the same Idempotency-Key (and refused with 422 for the same key with other bytes)."
  type        = number
  default     = 3600

  validation {
    condition     = var.idempotency_seconds >= 60 && var.idempotency_seconds <= 86400 && floor(var.idempotency_seconds) == var.idempotency_seconds
    error_message = "idempotency_seconds must be a whole number of seconds between 60 and 86400 (one day)."
  }
}

variable "custom_domain" {
  description = "Serve the API on this domain (an ACM certificate in the API's region) with the TLS 1.2 security policy, and close the default execute-api endpoint; point DNS at the output custom_domain_target. null: the execute-api endpoint (TLS 1.2 is what API Gateway negotiates there, but no policy can be pinned)."
  type = object({
    domain_name     = string
    certificate_arn = string
  })
  default = null

  validation {
    condition = var.custom_domain == null || try(
      can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.custom_domain.domain_name)) &&
      can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.custom_domain.certificate_arn)),
    false)
    error_message = "custom_domain needs a lowercase DNS name and an ACM certificate ARN."
  }
}

variable "cursor_key_arn" {
  description = "ARN of the KMS HMAC key upload_api signs and verifies its pagination cursors with (modules/kms mac_key_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.cursor_key_arn))
    error_message = "cursor_key_arn must be a KMS key ARN."
  }
}
