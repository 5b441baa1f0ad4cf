# Analytics for BI: the metadata table's stream -> metadata_export (imgpipe.export) -> NDJSON (gzip) files in the
# analytics bucket, partitioned dt=/hour= -> a Glue table with partition projection -> an Athena workgroup
# (enforced encryption, results with the same retention, a scan limit) with the reports as named queries read
# from queries/*.sql (the same files the local report runs on DuckDB) -> optionally QuickSight. Analysts get a
# read-only role; nobody reads the operational table.
#
# By concern: main.tf (the export: function, stream mapping, failures queue), athena.tf (Glue table, workgroup,
# reports), analyst.tf (the read-only role), quicksight.tf, alarms.tf.

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
