locals {
  name_prefix = "${var.project}-${var.environment}"

  default_tags = {
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
  }
}

# Secure module defaults apply unchanged: 30-day key deletion window, enforcing bucket policies, no
# force_destroy, table deletion protection, DLQ redrive-allow policy.

module "kms" {
  source = "../../modules/kms"

  name_prefix = local.name_prefix
}

module "storage" {
  source = "../../modules/storage"

  name_prefix    = local.name_prefix
  kms_key_arn    = module.kms.key_arn
  retention_days = var.retention_days
}

module "metadata" {
  source = "../../modules/metadata"

  name_prefix    = local.name_prefix
  kms_key_arn    = module.kms.key_arn
  retention_days = var.retention_days
}
