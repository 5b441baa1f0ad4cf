variable "name_prefix" {
  description = "Prefix for every resource name, usually \"<project>-<environment>\". The pool becomes <name_prefix>-users, its SPA client <name_prefix>-web."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 lowercase letters, digits or hyphens, starting with a letter."
  }
}

variable "callback_urls" {
  description = "Where the hosted UI may send the authorization code: the web app's origins (https, or http://localhost for development)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.callback_urls : can(regex("^(https://[^/]+|http://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?)(/.*)?$", u))])
    error_message = "callback_urls must be https:// URLs (http:// only for localhost or 127.0.0.1)."
  }
}

variable "logout_urls" {
  description = "Where the hosted UI may send a user after signing out (same rules as callback_urls)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.logout_urls : can(regex("^(https://[^/]+|http://(localhost|127\\.0\\.0\\.1)(:[0-9]+)?)(/.*)?$", u))])
    error_message = "logout_urls must be https:// URLs (http:// only for localhost or 127.0.0.1)."
  }
}

variable "access_token_minutes" {
  description = "Lifetime of access and ID tokens in minutes (5-60). A disabled user's access token keeps working until it expires: this is the bound."
  type        = number
  default     = 15

  validation {
    condition     = var.access_token_minutes >= 5 && var.access_token_minutes <= 60 && floor(var.access_token_minutes) == var.access_token_minutes
    error_message = "access_token_minutes must be a whole number between 5 and 60."
  }
}

variable "refresh_token_hours" {
  description = "Lifetime of refresh tokens in hours (1-720): how long a browser session lasts without signing in again."
  type        = number
  default     = 12

  validation {
    condition     = var.refresh_token_hours >= 1 && var.refresh_token_hours <= 720 && floor(var.refresh_token_hours) == var.refresh_token_hours
    error_message = "refresh_token_hours must be a whole number between 1 and 720 (30 days)."
  }
}

variable "user_pool_tier" {
  description = "Cognito feature plan: LITE, ESSENTIALS or PLUS. Threat protection (adaptive authentication, compromised-credential checks) is enforced when PLUS, the only tier that has it."
  type        = string
  default     = "ESSENTIALS"

  validation {
    condition     = contains(["LITE", "ESSENTIALS", "PLUS"], var.user_pool_tier)
    error_message = "user_pool_tier must be LITE, ESSENTIALS or PLUS."
  }
}

variable "set_user_pool_tier" {
  description = "Send user_pool_tier to the API. Only the local emulator needs false (it does not keep the tier, so every plan would show a change)."
  type        = bool
  default     = true
}

variable "mfa_configuration" {
  description = "OFF, OPTIONAL (users may add a TOTP app) or ON (every user must)."
  type        = string
  default     = "OPTIONAL"

  validation {
    condition     = contains(["OFF", "OPTIONAL", "ON"], var.mfa_configuration)
    error_message = "mfa_configuration must be OFF, OPTIONAL or ON."
  }
}

variable "password_minimum_length" {
  description = "Minimum password length (12-99)."
  type        = number
  default     = 14

  validation {
    condition     = var.password_minimum_length >= 12 && var.password_minimum_length <= 99 && floor(var.password_minimum_length) == var.password_minimum_length
    error_message = "password_minimum_length must be a whole number between 12 and 99."
  }
}

variable "allow_password_auth" {
  description = "Let the SPA client sign in with USER_PASSWORD_AUTH (the password sent to Cognito as is, instead of SRP). For the local emulator and tests only."
  type        = bool
  default     = false
}

variable "jwks_endpoint_override" {
  description = "Base URL serving <pool id>/.well-known/jwks.json in place of the issuer (the local emulator). null on AWS: the keys come from the issuer."
  type        = string
  default     = null

  validation {
    condition     = var.jwks_endpoint_override == null || can(regex("^https?://[^/]+", var.jwks_endpoint_override))
    error_message = "jwks_endpoint_override must be an http(s) URL."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the user pool (and every user in it)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for the user pool."
  type        = map(string)
  default     = {}
}

variable "domain_prefix" {
  description = "The hosted UI's domain prefix (https://<prefix>.auth.<region>.amazoncognito.com), where the web app's users sign in (authorization code + PKCE). Unique in the region; no \"aws\", \"amazon\" or \"cognito\" in it. null: no hosted UI."
  type        = string
  default     = null

  validation {
    condition     = var.domain_prefix == null || try(can(regex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", var.domain_prefix)) && !can(regex("aws|amazon|cognito", var.domain_prefix)), false)
    error_message = "domain_prefix must be 1-63 lowercase letters, digits or inner hyphens, without aws, amazon or cognito."
  }
}
