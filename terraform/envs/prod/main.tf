locals {
  name_prefix = "${var.project}-${var.environment}"

  default_tags = {
    project     = var.project
    environment = var.environment
    managed-by  = "terraform"
  }
}

# Secure module defaults apply; the production-critical ones are repeated explicitly so that a change of a
# module default can never relax production silently (tests/prod.tftest.hcl asserts them).

module "kms" {
  source = "../../modules/kms"

  name_prefix             = local.name_prefix
  deletion_window_in_days = 30
}

module "storage" {
  source = "../../modules/storage"

  name_prefix           = local.name_prefix
  kms_key_arn           = module.kms.key_arn
  retention_days        = var.retention_days
  enforce_bucket_policy = true
  force_destroy         = false
}

module "metadata" {
  source = "../../modules/metadata"

  name_prefix                 = local.name_prefix
  kms_key_arn                 = module.kms.key_arn
  retention_days              = var.retention_days
  deletion_protection_enabled = true
}
