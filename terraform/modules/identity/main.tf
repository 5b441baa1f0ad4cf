# Web users: a Cognito user pool whose users are created by the operators (no self sign-up: a person who could
# sign themselves up would become a tenant), and one public app client for the browser SPA (authorization code
# with PKCE, no client secret, bounded token lifetimes, revocable refresh tokens).
#
# A user's tenant is the one group named "tenant:<id>" it belongs to (Cognito writes groups into access tokens;
# api_authorizer reads them, see shared/imgpipe/tokens.py). Groups and users are operational data like API keys,
# managed by `make user` (scripts/ops/users.py), not by Terraform.

data "aws_region" "current" {}

locals {
  issuer   = "https://cognito-idp.${data.aws_region.current.name}.amazonaws.com/${aws_cognito_user_pool.this.id}"
  jwks_url = var.jwks_endpoint_override == null ? "${local.issuer}/.well-known/jwks.json" : "${trimsuffix(var.jwks_endpoint_override, "/")}/${aws_cognito_user_pool.this.id}/.well-known/jwks.json"
  # Threat protection (formerly advanced security) exists only in the PLUS tier; asking for it elsewhere fails
  # at apply, so it follows the tier instead of being a second setting that can disagree with it.
  threat_protection = var.user_pool_tier == "PLUS" ? "ENFORCED" : "OFF"
}

resource "aws_cognito_user_pool" "this" {
  name                = "${var.name_prefix}-users"
  deletion_protection = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  user_pool_tier      = var.set_user_pool_tier ? var.user_pool_tier : null
  mfa_configuration   = var.mfa_configuration

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  auto_verified_attributes = ["email"]

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  password_policy {
    minimum_length                   = var.password_minimum_length
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = true
    temporary_password_validity_days = 3
  }

  dynamic "software_token_mfa_configuration" {
    for_each = var.mfa_configuration == "OFF" ? [] : [1]
    content {
      enabled = true
    }
  }

  dynamic "user_pool_add_ons" {
    for_each = var.user_pool_tier == "PLUS" ? [1] : []
    content {
      advanced_security_mode = local.threat_protection
    }
  }

  tags = var.tags
}

resource "aws_cognito_user_pool_client" "web" {
  name         = "${var.name_prefix}-web"
  user_pool_id = aws_cognito_user_pool.this.id

  # A browser cannot keep a secret: a public client, whose code exchange PKCE protects.
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = var.callback_urls
  logout_urls                          = var.logout_urls

  explicit_auth_flows = concat(
    ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"],
    var.allow_password_auth ? ["ALLOW_USER_PASSWORD_AUTH"] : [],
  )

  # "User does not exist" and "wrong password" answer alike: no user-name oracle.
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true

  access_token_validity  = var.access_token_minutes
  id_token_validity      = var.access_token_minutes
  refresh_token_validity = var.refresh_token_hours
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }
}

# The hosted UI the web app sends its users to (modules/web's config.json names it).
resource "aws_cognito_user_pool_domain" "this" {
  count = var.domain_prefix == null ? 0 : 1

  domain       = var.domain_prefix
  user_pool_id = aws_cognito_user_pool.this.id
}
