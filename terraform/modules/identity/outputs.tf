output "user_pool_id" {
  description = "ID of the user pool."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool (for the operators' cognito-idp:Admin* permissions)."
  value       = aws_cognito_user_pool.this.arn
}

output "web_client_id" {
  description = "App client ID of the browser SPA (public: no secret)."
  value       = aws_cognito_user_pool_client.web.id
}

output "jwt" {
  description = "What the API needs to verify the pool's access tokens: issuer, accepted client ids, JWKS URL."
  value = {
    issuer     = local.issuer
    client_ids = [aws_cognito_user_pool_client.web.id]
    jwks_url   = local.jwks_url
  }
}

output "password_auth_allowed" {
  description = "Whether the SPA client accepts USER_PASSWORD_AUTH (the local emulator's flag)."
  value       = contains(aws_cognito_user_pool_client.web.explicit_auth_flows, "ALLOW_USER_PASSWORD_AUTH")
}

output "deletion_protection" {
  description = "Whether the pool refuses to be deleted."
  value       = aws_cognito_user_pool.this.deletion_protection == "ACTIVE"
}

output "hosted_ui_domain" {
  description = "The hosted UI's origin (https://<prefix>.auth.<region>.amazoncognito.com), or null without domain_prefix."
  value       = var.domain_prefix == null ? null : "https://${aws_cognito_user_pool_domain.this[0].domain}.auth.${data.aws_region.current.name}.amazoncognito.com"
}
