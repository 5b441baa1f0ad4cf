################################################################################
# QuickSight (optional: needs an account subscription; moto cannot hold it)
################################################################################

resource "aws_quicksight_data_source" "athena" {
  count = var.quicksight == null ? 0 : 1

  data_source_id = "${var.name_prefix}-analytics"
  name           = "${var.name_prefix} image metadata (Athena)"
  type           = "ATHENA"

  parameters {
    athena {
      work_group = aws_athena_workgroup.this.name
    }
  }

  ssl_properties {
    disable_ssl = false
  }

  permission {
    principal = var.quicksight.principal_arn
    actions   = ["quicksight:DescribeDataSource", "quicksight:DescribeDataSourcePermissions", "quicksight:PassDataSource"]
  }
}

locals {
  # One rule per (group, tenant). The values are validated (ARN and tenant-id patterns, no quote can pass), so the
  # literal SQL is safe; the rules live in Terraform, reviewed in the plan, rather than in a table someone can edit.
  quicksight_rules = var.quicksight == null ? [] : flatten([
    for group in sort(keys(var.quicksight.tenant_groups)) : [
      for tenant in sort(distinct(var.quicksight.tenant_groups[group])) : { group_arn = group, tenant_id = tenant }
    ]
  ])
  quicksight_rules_sql = "SELECT user_arn, group_arn, tenant_id FROM (VALUES ${join(", ", [
    for r in local.quicksight_rules : "(CAST(NULL AS varchar), '${r.group_arn}', '${r.tenant_id}')"
  ])}) AS rules(user_arn, group_arn, tenant_id)"
}

# The row-level security rules (format VERSION_2: UserARN, GroupARN, then the field they grant on).
resource "aws_quicksight_data_set" "tenant_rules" {
  count = var.quicksight == null ? 0 : 1

  data_set_id = "${var.name_prefix}-tenant-rules"
  name        = "${var.name_prefix} tenant rules (row-level security)"
  import_mode = "DIRECT_QUERY"

  physical_table_map {
    physical_table_map_id = "tenant-rules"
    custom_sql {
      data_source_arn = aws_quicksight_data_source.athena[0].arn
      name            = "tenant_rules"
      sql_query       = local.quicksight_rules_sql

      dynamic "columns" {
        for_each = ["user_arn", "group_arn", "tenant_id"]
        content {
          name = columns.value
          type = "STRING"
        }
      }
    }
  }

  # Athena answers lower-case column names; QuickSight reads a rules dataset's principals from UserARN/GroupARN.
  logical_table_map {
    logical_table_map_id = "tenant-rules"
    alias                = "tenant_rules"
    source {
      physical_table_id = "tenant-rules"
    }
    data_transforms {
      rename_column_operation {
        column_name     = "user_arn"
        new_column_name = "UserARN"
      }
    }
    data_transforms {
      rename_column_operation {
        column_name     = "group_arn"
        new_column_name = "GroupARN"
      }
    }
  }

  permissions {
    principal = var.quicksight.principal_arn
    actions   = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet"]
  }
}

resource "aws_quicksight_data_set" "current_images" {
  count = var.quicksight == null ? 0 : 1

  data_set_id = "${var.name_prefix}-current-images"
  name        = "${var.name_prefix} current images"
  import_mode = "DIRECT_QUERY" # no SPICE copy: a copy would outlive the retention

  physical_table_map {
    physical_table_map_id = "current-images"
    custom_sql {
      data_source_arn = aws_quicksight_data_source.athena[0].arn
      name            = "current_images"
      sql_query       = replace(local.current_images, "{{now_epoch}}", "to_unixtime(current_timestamp)")

      dynamic "columns" {
        for_each = [for c in local.schema.columns : c if contains(["string", "int", "bigint"], c.type)]
        content {
          name = columns.value.name
          type = columns.value.type == "string" ? "STRING" : "INTEGER"
        }
      }
    }
  }

  # Every reader, the dataset's owner included, sees only the rows of the tenants its groups are granted.
  row_level_permission_data_set {
    arn               = aws_quicksight_data_set.tenant_rules[0].arn
    permission_policy = "GRANT_ACCESS"
    format_version    = "VERSION_2"
    status            = "ENABLED"
  }

  permissions {
    principal = var.quicksight.principal_arn
    actions   = ["quicksight:DescribeDataSet", "quicksight:DescribeDataSetPermissions", "quicksight:PassDataSet", "quicksight:DescribeIngestion", "quicksight:ListIngestions"]
  }
}
