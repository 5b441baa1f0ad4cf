# Everything imgpipe needs for one environment. Environments (envs/*) call only this module and pass only what
# differs between them; every secure setting is the default here, and relaxations are explicit in the caller.
# Later capabilities (API, ingest, processing, analytics, security, observability) are wired here, once.

data "aws_region" "current" {}

module "kms" {
  source = "../kms"

  name_prefix             = var.name_prefix
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags
}

module "storage" {
  source = "../storage"

  name_prefix                      = var.name_prefix
  kms_key_arn                      = module.kms.key_arn
  retention_days                   = var.retention_days
  enforce_bucket_policy            = var.enforce_bucket_policy
  force_destroy                    = var.force_destroy
  dlq_redrive_allow_policy_enabled = var.dlq_redrive_allow_policy_enabled
  tags                             = var.tags
}

module "metadata" {
  source = "../metadata"

  name_prefix                 = var.name_prefix
  kms_key_arn                 = module.kms.key_arn
  retention_days              = var.retention_days
  deletion_protection_enabled = var.deletion_protection_enabled
  tags                        = var.tags
}
