locals {
  name_prefix = "${var.project}-${var.environment}"

  default_tags = {
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
  }
}

module "kms" {
  source = "../../modules/kms"

  name_prefix = local.name_prefix
  # Emulator keys are thrown away with the emulator; 7 (the AWS minimum) keeps local teardown short.
  deletion_window_in_days = 7
}

module "storage" {
  source = "../../modules/storage"

  name_prefix    = local.name_prefix
  kms_key_arn    = module.kms.key_arn
  retention_days = var.retention_days
  # moto does not evaluate bucket-policy conditions: a deny-non-TLS statement would deny every object call.
  # staging/prod keep the policy (module default true) and terraform test asserts it there.
  enforce_bucket_policy = false
  # Local buckets hold only test data and are recreated freely; lets `terraform destroy` empty them.
  force_destroy = true
  # moto does not implement the RedriveAllowPolicy queue attribute: the provider would wait for it forever.
  dlq_redrive_allow_policy_enabled = false
}

module "metadata" {
  source = "../../modules/metadata"

  name_prefix    = local.name_prefix
  kms_key_arn    = module.kms.key_arn
  retention_days = var.retention_days
  # The local table is disposable (emulator state); protection would only block `terraform destroy`.
  deletion_protection_enabled = false
}
