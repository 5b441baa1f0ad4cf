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
