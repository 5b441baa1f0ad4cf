# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
}

override_resource {
  target          = aws_cognito_user_pool.this
  override_during = plan
  values = {
    id  = "eu-west-1_AbC123xyz"
    arn = "arn:aws:cognito-idp:eu-west-1:123456789012:userpool/eu-west-1_AbC123xyz"
  }
}

override_resource {
  target          = aws_cognito_user_pool_client.web
  override_during = plan
  values = {
    id = "4pq0example1client2id3"
  }
}

variables {
  name_prefix   = "imgpipe-test"
  callback_urls = ["https://app.example.com/callback"]
  logout_urls   = ["https://app.example.com/"]
}

run "only_operators_create_users_and_passwords_are_strong" {
  command = plan

  assert {
    condition     = aws_cognito_user_pool.this.admin_create_user_config[0].allow_admin_create_user_only
    error_message = "Self sign-up must be off: a person who could sign up would become a tenant."
  }

  assert {
    condition = (
      aws_cognito_user_pool.this.password_policy[0].minimum_length >= 12 &&
      aws_cognito_user_pool.this.password_policy[0].require_symbols &&
      aws_cognito_user_pool.this.password_policy[0].temporary_password_validity_days <= 7
    )
    error_message = "Passwords: at least 12 characters with symbols; temporary passwords expire within a week."
  }

  assert {
    condition     = aws_cognito_user_pool.this.deletion_protection == "ACTIVE" && aws_cognito_user_pool.this.mfa_configuration == "OPTIONAL"
    error_message = "The pool is deletion-protected and offers TOTP MFA by default."
  }

  assert {
    condition     = aws_cognito_user_pool.this.user_pool_tier == "ESSENTIALS" && length(aws_cognito_user_pool.this.user_pool_add_ons) == 0
    error_message = "Below PLUS no threat-protection add-on is asked for (it would fail at apply)."
  }
}

run "the_spa_client_is_public_code_flow_with_bounded_revocable_tokens" {
  command = plan

  assert {
    condition = (
      !aws_cognito_user_pool_client.web.generate_secret &&
      aws_cognito_user_pool_client.web.allowed_oauth_flows == toset(["code"]) &&
      aws_cognito_user_pool_client.web.allowed_oauth_flows_user_pool_client
    )
    error_message = "The browser client has no secret and only the authorization code flow (no implicit flow)."
  }

  assert {
    condition     = aws_cognito_user_pool_client.web.explicit_auth_flows == toset(["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_SRP_AUTH"])
    error_message = "No password is ever sent as is to Cognito by default (SRP and refresh only)."
  }

  assert {
    condition = (
      aws_cognito_user_pool_client.web.prevent_user_existence_errors == "ENABLED" &&
      aws_cognito_user_pool_client.web.enable_token_revocation
    )
    error_message = "No user-name oracle, and refresh tokens can be revoked."
  }

  assert {
    condition = (
      aws_cognito_user_pool_client.web.access_token_validity == 15 &&
      aws_cognito_user_pool_client.web.id_token_validity == 15 &&
      aws_cognito_user_pool_client.web.refresh_token_validity == 12 &&
      aws_cognito_user_pool_client.web.token_validity_units[0].access_token == "minutes" &&
      aws_cognito_user_pool_client.web.token_validity_units[0].refresh_token == "hours"
    )
    error_message = "Access tokens live 15 minutes (the bound on a disabled user), refresh tokens 12 hours."
  }

  assert {
    condition     = aws_cognito_user_pool_client.web.callback_urls == toset(["https://app.example.com/callback"])
    error_message = "The hosted UI may only return to the web app's origins."
  }
}

run "the_api_gets_the_pools_issuer_client_and_keys" {
  command = plan

  assert {
    condition = (
      output.jwt.issuer == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz" &&
      output.jwt.jwks_url == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz/.well-known/jwks.json" &&
      output.jwt.client_ids == ["4pq0example1client2id3"]
    )
    error_message = "The API verifies tokens against this pool's issuer and JWKS, for its SPA client."
  }
}

run "plus_tier_enforces_threat_protection" {
  command = plan

  variables {
    user_pool_tier = "PLUS"
  }

  assert {
    condition     = aws_cognito_user_pool.this.user_pool_add_ons[0].advanced_security_mode == "ENFORCED"
    error_message = "Where the tier has threat protection, it is enforced."
  }
}

run "local_relaxations_are_flags" {
  command = plan

  variables {
    allow_password_auth    = true
    jwks_endpoint_override = "http://127.0.0.1:4566"
    callback_urls          = ["http://localhost:8080/callback"]
  }

  assert {
    condition     = contains(aws_cognito_user_pool_client.web.explicit_auth_flows, "ALLOW_USER_PASSWORD_AUTH")
    error_message = "allow_password_auth adds USER_PASSWORD_AUTH."
  }

  assert {
    condition = (
      output.jwt.jwks_url == "http://127.0.0.1:4566/eu-west-1_AbC123xyz/.well-known/jwks.json" &&
      startswith(output.jwt.issuer, "https://cognito-idp.eu-west-1.amazonaws.com/")
    )
    error_message = "The override moves where keys are fetched, never the issuer the tokens must name."
  }
}

run "tokens_cannot_live_longer_than_an_hour" {
  command = plan

  variables {
    access_token_minutes = 120
  }

  expect_failures = [var.access_token_minutes]
}

run "callbacks_must_be_https_except_localhost" {
  command = plan

  variables {
    callback_urls = ["http://app.example.com/callback"]
  }

  expect_failures = [var.callback_urls]
}

run "unknown_tier_is_refused" {
  command = plan

  variables {
    user_pool_tier = "ADVANCED"
  }

  expect_failures = [var.user_pool_tier]
}

run "the_tier_is_left_unset_only_when_asked" {
  command = plan

  variables {
    set_user_pool_tier = false
  }

  assert {
    # Unset, the computed attribute is whatever the (mock) provider returns, never the configured tier.
    condition     = aws_cognito_user_pool.this.user_pool_tier != var.user_pool_tier
    error_message = "set_user_pool_tier = false (the emulator) sends no tier."
  }
}
