output "key_arn" {
  description = "ARN of the customer-managed key."
  value       = aws_kms_key.this.arn
}

output "key_id" {
  description = "ID of the customer-managed key."
  value       = aws_kms_key.this.key_id
}

output "alias_name" {
  description = "Alias of the key (alias/<name_prefix>)."
  value       = aws_kms_alias.this.name
}

output "alias_arn" {
  description = "ARN of the key alias."
  value       = aws_kms_alias.this.arn
}

output "key_policy" {
  description = "The key policy document (JSON) attached to the key."
  value       = aws_kms_key.this.policy
}

output "deletion_window_in_days" {
  description = "Waiting period before a key scheduled for deletion is destroyed."
  value       = aws_kms_key.this.deletion_window_in_days
}

output "key_rotation_enabled" {
  description = "Whether automatic key rotation is enabled."
  value       = aws_kms_key.this.enable_key_rotation
}

output "mac_key_arn" {
  description = "ARN of the HMAC key (GENERATE_VERIFY_MAC, HMAC_256) that signs the API's pagination cursors."
  value       = aws_kms_key.mac.arn
}

output "mac_alias_name" {
  description = "Alias of the HMAC key (alias/<name_prefix>-cursors)."
  value       = aws_kms_alias.mac.name
}
