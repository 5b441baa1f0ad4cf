variable "name_prefix" {
  description = "Prefix of every resource name, e.g. imgpipe-staging."
  type        = string
}

variable "source_dir" {
  description = "The web app's folder (web/ of the repository): its public files are uploaded as they are (no build step)."
  type        = string
}

variable "api_url" {
  description = "The API's base URL as the app calls it (the stage's invoke URL, or the custom domain), without a trailing slash."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+(/[^/]+)*$", var.api_url))
    error_message = "api_url must be an https URL without a trailing slash."
  }
}

variable "api_origin" {
  description = "The API's origin (https://host) for the content security policy: known before the API's stage, which may depend on this module's domain (its CORS)."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+$", var.api_origin))
    error_message = "api_origin must be https://host, no path."
  }
}

variable "upload_origin" {
  description = "The raw bucket's regional endpoint (https://<bucket>.s3.<region>.amazonaws.com): where the presigned POSTs go."
  type        = string
}

variable "image_origin" {
  description = "The processed bucket's regional endpoint: where the rendition links point."
  type        = string
}

variable "user_pool_id" {
  description = "The Cognito user pool web users sign in to (modules/identity)."
  type        = string
}

variable "client_id" {
  description = "The pool's public app client for the SPA (authorization code + PKCE, no secret)."
  type        = string
}

variable "hosted_ui_domain" {
  description = "The pool's hosted UI origin (https://<prefix>.auth.<region>.amazoncognito.com): sign-in and the token endpoint."
  type        = string

  validation {
    condition     = can(regex("^https://[^/]+$", var.hosted_ui_domain))
    error_message = "hosted_ui_domain must be https://host, no path."
  }
}

variable "price_class" {
  description = "CloudFront price class (which edge locations serve the app)."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "web_acl_arn" {
  description = "A WAFv2 web ACL of scope CLOUDFRONT (it lives in us-east-1, so it is made outside this module) to put in front of the app; null: none. The API keeps its own regional WAF."
  type        = string
  default     = null
}

variable "hsts_max_age_seconds" {
  description = "Strict-Transport-Security max-age (two years by default, as hstspreload.org asks)."
  type        = number
  default     = 63072000

  validation {
    condition     = var.hsts_max_age_seconds >= 31536000
    error_message = "HSTS max-age must be at least one year."
  }
}

variable "force_destroy" {
  description = "Let terraform destroy the site bucket with its objects (non-production only)."
  type        = bool
  default     = false
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before the site key is deleted."
  type        = number
  default     = 30
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
