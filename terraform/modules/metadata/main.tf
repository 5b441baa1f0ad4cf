# Image metadata: one item per image_id. Items expire through TTL on expires_at (epoch seconds, written by
# the application as created_at + retention); TTL deletes asynchronously (up to ~2 days), so readers must treat
# expires_at < now as gone. PITR keeps recovery points only for retention_days.

locals {
  table_name = "${var.name_prefix}-images"

  gsi_by_tenant_status = "by_tenant_status"
  gsi_by_day           = "by_day"
}

resource "aws_dynamodb_table" "images" {
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "image_id"
  deletion_protection_enabled = var.deletion_protection_enabled

  attribute {
    name = "image_id"
    type = "S"
  }

  attribute {
    name = "tenant_status"
    type = "S"
  }

  attribute {
    name = "created_at"
    type = "S"
  }

  attribute {
    name = "created_day"
    type = "S"
  }

  # One tenant's images of one status, newest first ("<tenant_id>#<status>", ScanIndexForward = false): the tenant
  # is the partition key, so a listing reads nothing of another tenant (no filter, no scan). Items without a
  # tenant (written before tenants existed) are in no partition: nobody lists them.
  global_secondary_index {
    name            = local.gsi_by_tenant_status
    hash_key        = "tenant_status"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  # List images of one day (created_day = YYYY-MM-DD), ordered by creation time.
  global_secondary_index {
    name            = local.gsi_by_day
    hash_key        = "created_day"
    range_key       = "created_at"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled                 = true
    recovery_period_in_days = var.retention_days
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  stream_enabled   = true
  stream_view_type = "NEW_AND_OLD_IMAGES"

  tags = merge(var.tags, { Name = local.table_name })
}
