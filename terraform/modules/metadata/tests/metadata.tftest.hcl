# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.

mock_provider "aws" {}

variables {
  name_prefix = "imgpipe-test"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
}

run "table_shape" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.images.name == "imgpipe-test-images" && output.table_name == "imgpipe-test-images"
    error_message = "The table must be <name_prefix>-images."
  }

  assert {
    condition     = aws_dynamodb_table.images.billing_mode == "PAY_PER_REQUEST"
    error_message = "The table must be on-demand (PAY_PER_REQUEST)."
  }

  assert {
    condition     = aws_dynamodb_table.images.hash_key == "image_id" && aws_dynamodb_table.images.range_key == null
    error_message = "The table key must be image_id only."
  }

  assert {
    condition = alltrue([
      for a in aws_dynamodb_table.images.attribute : a.type == "S"
    ]) && toset([for a in aws_dynamodb_table.images.attribute : a.name]) == toset(["image_id", "tenant_status", "created_at", "created_day"])
    error_message = "Key attributes must be the string attributes image_id, tenant_status, created_at, created_day."
  }

  assert {
    condition = toset([
      for g in aws_dynamodb_table.images.global_secondary_index : [g.name, g.hash_key, g.range_key, g.projection_type]
      ]) == toset([
      ["by_tenant_status", "tenant_status", "created_at", "ALL"],
      ["by_day", "created_day", "created_at", "ALL"],
    ])
    error_message = "GSIs must be by_tenant_status (tenant_status, created_at) and by_day (created_day, created_at), projection ALL: no index lists images across tenants but the audit's by_day."
  }

  assert {
    condition     = output.gsi_by_tenant_status_name == "by_tenant_status" && output.gsi_by_day_name == "by_day"
    error_message = "GSI name outputs must match the indexes."
  }
}

run "retention_controls" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.images.ttl[0].enabled && aws_dynamodb_table.images.ttl[0].attribute_name == "expires_at"
    error_message = "TTL must be enabled on expires_at."
  }

  assert {
    condition     = aws_dynamodb_table.images.point_in_time_recovery[0].enabled
    error_message = "Point-in-time recovery must be enabled."
  }

  assert {
    condition     = aws_dynamodb_table.images.point_in_time_recovery[0].recovery_period_in_days == 7
    error_message = "The PITR window must equal retention_days (default 7)."
  }
}

run "pitr_window_follows_retention_days" {
  command = plan

  variables {
    retention_days = 2
  }

  assert {
    condition     = aws_dynamodb_table.images.point_in_time_recovery[0].recovery_period_in_days == 2
    error_message = "The PITR window must equal retention_days."
  }
}

run "encryption_stream_and_protection" {
  command = plan

  assert {
    condition     = aws_dynamodb_table.images.server_side_encryption[0].enabled && aws_dynamodb_table.images.server_side_encryption[0].kms_key_arn == var.kms_key_arn
    error_message = "The table must be encrypted with the CMK."
  }

  assert {
    condition     = aws_dynamodb_table.images.stream_enabled && aws_dynamodb_table.images.stream_view_type == "NEW_AND_OLD_IMAGES"
    error_message = "The stream must be enabled with NEW_AND_OLD_IMAGES."
  }

  assert {
    condition     = aws_dynamodb_table.images.deletion_protection_enabled == true
    error_message = "Deletion protection must default to true."
  }
}

run "deletion_protection_can_be_disabled" {
  command = plan

  variables {
    deletion_protection_enabled = false
  }

  assert {
    condition     = aws_dynamodb_table.images.deletion_protection_enabled == false
    error_message = "deletion_protection_enabled = false must reach the table."
  }
}

run "rejects_retention_days_8" {
  command = plan

  variables {
    retention_days = 8
  }

  expect_failures = [var.retention_days]
}

run "rejects_retention_days_0" {
  command = plan

  variables {
    retention_days = 0
  }

  expect_failures = [var.retention_days]
}

run "rejects_malformed_name_prefix" {
  command = plan

  variables {
    name_prefix = "Bad_Name"
  }

  expect_failures = [var.name_prefix]
}

run "rejects_kms_key_id_instead_of_arn" {
  command = plan

  variables {
    kms_key_arn = "11111111-2222-3333-4444-555555555555"
  }

  expect_failures = [var.kms_key_arn]
}
