# Analytics for BI: the metadata table's stream -> metadata_export (imgpipe.export) -> NDJSON (gzip) files in the
# analytics bucket, partitioned dt=/hour= -> a Glue table with partition projection -> an Athena workgroup
# (enforced encryption, results with the same retention, a scan limit) with the reports as named queries read
# from queries/*.sql (the same files the local report runs on DuckDB) -> optionally QuickSight. Analysts get a
# read-only role; nobody reads the operational table.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name = "${var.name_prefix}-metadata_export"

  export_prefix = "exports/v1/"
  schema        = jsondecode(file("${path.module}/export_schema.json"))
  database_name = replace("${var.name_prefix}_analytics", "-", "_")
  table_name    = "image_changes"
  analytics_arn = "arn:${local.partition}:s3:::${var.analytics_bucket_name}"
  results_arn   = "arn:${local.partition}:s3:::${var.results_bucket_name}"
  table_arn     = split("/stream/", var.table_stream_arn)[0]

  # The reports: one file each; {{current_images}} is the shared latest-change-per-image selection.
  current_images = trimspace(replace(
    replace(file("${path.module}/queries/_current_images.sql"), "/(?m)^--.*\\n/", ""),
    "{{changes}}", "\"${local.database_name}\".\"${local.table_name}\"",
  ))
  queries = {
    for f in fileset("${path.module}/queries", "*.sql") : trimsuffix(f, ".sql") => replace(replace(
      file("${path.module}/queries/${f}"), "{{current_images}}", "(\n${local.current_images}\n)"),
      "{{now_epoch}}", "to_unixtime(current_timestamp)",
    ) if !startswith(f, "_")
  }

  # The module adds WriteOwnLogs (its log group) and WriteTraces (X-Ray) after these.
  export_statements = [
    {
      Sid      = "ReadTheTableStream"
      Effect   = "Allow"
      Action   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
      Resource = "${local.table_arn}/stream/*"
    },
    {
      Sid      = "WriteExportFiles"
      Effect   = "Allow"
      Action   = ["s3:PutObject"]
      Resource = "${local.analytics_arn}/${local.export_prefix}*"
    },
    {
      Sid      = "SendGivenUpBatches"
      Effect   = "Allow"
      Action   = ["sqs:SendMessage"]
      Resource = aws_sqs_queue.export_failures.arn
    },
    {
      # Stream records, export files, the failures queue and the function's environment: through those services only.
      Sid      = "UseEnvironmentKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = var.kms_key_arn
      Condition = {
        StringEquals = { "kms:ViaService" = [for s in ["s3", "sqs", "dynamodb", "lambda"] : "${s}.${local.region}.${local.dns_suffix}"] }
      }
    },
  ]
}

################################################################################
# Export: stream -> metadata_export -> analytics bucket
################################################################################

# Batches the stream source gives up on (after retries and bisection): their shard and sequence numbers.
resource "aws_sqs_queue" "export_failures" {
  name                              = "${var.name_prefix}-export-failures"
  message_retention_seconds         = var.retention_days * 86400
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600

  tags = merge(var.tags, { Name = "${var.name_prefix}-export-failures" })
}

module "function" {
  source = "../lambda_function"

  name         = local.function_name
  description  = "${var.name_prefix}: metadata changes -> analytics exports"
  package      = var.function
  architecture = var.lambda_architecture
  memory_size  = 512
  timeout      = 120
  # Not reserved: a stream invokes at most one batch per shard at a time, and reserving would only risk
  # throttling the export.
  kms_key_arn = var.kms_key_arn
  # Logs name export files and image ids: kept no longer than retention_days (at most 7).
  log_retention_days = var.retention_days
  environment_variables = {
    ANALYTICS_BUCKET        = var.analytics_bucket_name
    EXPORT_PREFIX           = local.export_prefix
    KMS_KEY_ARN             = var.kms_key_arn
    POWERTOOLS_SERVICE_NAME = "metadata_export"
    # X-Ray keeps traces 30 days, whatever the retention: no return values or error text there.
    POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
    POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
    LOG_LEVEL                          = var.log_level
  }
  policy_statements = local.export_statements
  function_tags     = { "imgpipe:function" = "metadata_export" }
  tags              = var.tags
}

resource "aws_lambda_event_source_mapping" "stream" {
  count = var.create_event_source_mapping ? 1 : 0

  function_name                      = module.function.alias_arn
  event_source_arn                   = var.table_stream_arn
  starting_position                  = "TRIM_HORIZON" # nothing the stream still holds is skipped at creation
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 10
  maximum_record_age_in_seconds      = 86400 # the stream keeps records 24 h anyway

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.export_failures.arn
    }
  }
}

################################################################################
# Glue table over the exports, Athena workgroup, the reports
################################################################################

resource "aws_glue_catalog_database" "this" {
  name        = local.database_name
  description = "${var.name_prefix}: image metadata exports (schema v${local.schema.version}), read-only for BI"
}

resource "aws_glue_catalog_table" "changes" {
  name          = local.table_name
  database_name = aws_glue_catalog_database.this.name
  description   = "Every change of every image's metadata (upserts and removal tombstones), schema v${local.schema.version}; docs/analytics.md"
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    EXTERNAL             = "TRUE"
    classification       = "json"
    "compressionType"    = "gzip"
    "projection.enabled" = "true"
    # Partitions exist only for the retention window: older files are gone by lifecycle anyway.
    "projection.dt.type"          = "date"
    "projection.dt.format"        = "yyyy-MM-dd"
    "projection.dt.range"         = "NOW-${var.retention_days + 1}DAYS,NOW"
    "projection.dt.interval"      = "1"
    "projection.dt.interval.unit" = "DAYS"
    "projection.hour.type"        = "integer"
    "projection.hour.range"       = "0,23"
    "projection.hour.digits"      = "2"
    "storage.location.template"   = "s3://${var.analytics_bucket_name}/${local.export_prefix}dt=$${dt}/hour=$${hour}/"
  }

  dynamic "partition_keys" {
    for_each = local.schema.partition_keys
    content {
      name = partition_keys.value.name
      type = partition_keys.value.type
    }
  }

  storage_descriptor {
    location      = "s3://${var.analytics_bucket_name}/${local.export_prefix}"
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      parameters            = { "ignore.malformed.json" = "false" }
    }

    dynamic "columns" {
      for_each = local.schema.columns
      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name          = "${var.name_prefix}-analytics"
  description   = "${var.name_prefix}: BI over the metadata exports"
  force_destroy = true # only saved results go with it, which expire with the retention anyway

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    result_configuration {
      output_location = "s3://${var.results_bucket_name}/results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "reports" {
  for_each = local.queries

  name        = "${var.name_prefix}-${each.key}"
  description = trimprefix(split("\n", each.value)[0], "-- ")
  workgroup   = aws_athena_workgroup.this.id
  database    = aws_glue_catalog_database.this.name
  query       = each.value
}

################################################################################
# Read-only analyst role (optional)
################################################################################

resource "aws_iam_role" "analyst" {
  count = length(var.analyst_principal_arns) > 0 ? 1 : 0

  name = "${var.name_prefix}-analyst"
  # The workgroup is named from the prefix, not read from its resource: the key policy names this role, and the
  # workgroup is encrypted with that key (a reference would make a cycle).
  description          = "Read-only BI over the metadata exports (Athena workgroup ${var.name_prefix}-analytics)"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = var.analyst_principal_arns }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "analyst" {
  count = length(var.analyst_principal_arns) > 0 ? 1 : 0

  name = "${var.name_prefix}-analyst-read-only"
  role = aws_iam_role.analyst[0].name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "QueryInTheWorkgroup"
        Effect   = "Allow"
        Action   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListNamedQueries", "athena:GetNamedQuery", "athena:BatchGetNamedQuery"]
        Resource = aws_athena_workgroup.this.arn
      },
      {
        Sid    = "ReadTheCatalog"
        Effect = "Allow"
        Action = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
        Resource = [
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.database_name}",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.database_name}/*",
        ]
      },
      {
        Sid      = "ReadExports"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${local.analytics_arn}/${local.export_prefix}*"
      },
      {
        Sid       = "ListExports"
        Effect    = "Allow"
        Action    = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource  = local.analytics_arn
        Condition = { StringLike = { "s3:prefix" = ["${local.export_prefix}*"] } }
      },
      {
        Sid      = "OwnQueryResults"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${local.results_arn}/results/*"
      },
      {
        Sid      = "ListQueryResults"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = local.results_arn
      },
      {
        # Exports and query results, read and written by Athena and S3 on the analyst's behalf: never directly.
        Sid      = "UseEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = [for s in ["s3", "athena", "glue"] : "${s}.${local.region}.${local.dns_suffix}"] }
        }
      },
    ]
  })
}

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

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "export_failures" {
  alarm_name          = "${var.name_prefix}-export-failures-not-empty"
  alarm_description   = "The metadata export gave up on stream batches (shard and sequence numbers in ${aws_sqs_queue.export_failures.name}): analytics miss those changes."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.export_failures.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "iterator_age" {
  alarm_name          = "${local.function_name}-iterator-age"
  alarm_description   = "The metadata export is more than 15 minutes behind the table's stream (records older than 24 h are lost)."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = local.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 3
  threshold           = 900000
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}
