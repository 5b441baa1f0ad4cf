# Kafka ingestion: a Kafka event source (an existing MSK cluster with IAM auth, or a self-managed Kafka) ->
# kafka_ingest (imgpipe.kafka_ingest: validate, raw object + RECEIVED item) -> the same raw prefix the processor
# consumes. Wrong records are reported with their coordinates (never their bytes) to the rejects queue, which is
# also the event source's on-failure destination for records that keep failing transiently.
#
# By concern: main.tf (function, rejects queue, idempotency records, event source), network.tf (the pollers'
# interface endpoints), msk.tf (a new MSK cluster), scram.tf (broker credentials), alarms.tf.

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  function_name = "${var.name_prefix}-kafka_ingest"
  # The MSK brokers' log group (a new cluster only) keeps the same bound as the function's.
  log_retention = max([for d in [1, 3, 5, 7] : d if d <= var.retention_days]...)

  is_msk        = var.kafka.type == "msk"
  new_cluster   = var.new_msk_cluster != null
  in_vpc        = length(var.kafka.subnet_ids) > 0
  is_scram      = var.kafka.type == "self_managed" && var.kafka.auth == "sasl_scram_512"
  own_scram     = local.is_scram && var.kafka.scram_secret_arn == null
  scram_secret  = local.own_scram ? aws_secretsmanager_secret.scram[0].arn : var.kafka.scram_secret_arn
  vpc_endpoints = local.in_vpc && var.create_vpc_endpoints
  cluster_arn   = local.new_cluster ? aws_msk_cluster.this[0].arn : var.kafka.cluster_arn

  # MSK IAM resources: arn:...:kafka:<region>:<account>:{cluster|topic|group}/<cluster name>/<cluster uuid>[/<name>]
  msk_cluster_path = local.is_msk ? split(":cluster/", local.cluster_arn)[1] : ""
  msk_arn_base     = local.is_msk ? split(":cluster/", local.cluster_arn)[0] : ""

  # The module adds WriteOwnLogs (its log group) and WriteTraces (X-Ray) after these.
  statements = concat(
    [
      {
        Sid      = "WriteRawImages"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"] # delete: undo an object whose item could not be written
        Resource = "${var.raw_bucket_arn}/${var.raw_prefix}*"
      },
      {
        Sid      = "ReadAndRemoveStagedClaimChecks"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
        Resource = "${var.raw_bucket_arn}/${var.claim_check_prefix}*"
      },
      {
        Sid       = "ListOwnPrefixes"
        Effect    = "Allow"
        Action    = ["s3:ListBucket", "s3:ListBucketVersions"]
        Resource  = var.raw_bucket_arn
        Condition = { StringLike = { "s3:prefix" = ["${var.raw_prefix}*", "${var.claim_check_prefix}*"] } }
      },
      {
        Sid      = "WriteNewImageItems"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem"]
        Resource = var.table_arn
      },
      {
        Sid      = "UseIdempotencyRecords"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = aws_dynamodb_table.idempotency.arn
      },
      {
        Sid      = "ReportRejectedRecords"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = aws_sqs_queue.rejects.arn
      },
      {
        # Raw and staged objects, items, the rejects queue and the function's environment: through those services only.
        Sid      = "UseEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = [for s in concat(["s3", "dynamodb", "sqs", "lambda"], local.own_scram ? ["secretsmanager"] : []) : "${s}.${local.region}.${local.dns_suffix}"] }
        }
      },
    ],
    local.is_msk ? [
      {
        Sid      = "ConnectToCluster"
        Effect   = "Allow"
        Action   = ["kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"]
        Resource = local.cluster_arn
      },
      {
        Sid      = "ReadTheTopic"
        Effect   = "Allow"
        Action   = ["kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"]
        Resource = "${local.msk_arn_base}:topic/${local.msk_cluster_path}/${var.kafka.topic}"
      },
      {
        Sid      = "UseTheConsumerGroup"
        Effect   = "Allow"
        Action   = ["kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"]
        Resource = "${local.msk_arn_base}:group/${local.msk_cluster_path}/${var.kafka.consumer_group_id}"
      },
    ] : [],
    local.is_scram ? [
      {
        Sid      = "ReadBrokerCredentials"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = local.scram_secret
      },
    ] : [],
    local.in_vpc ? [
      {
        # The event source's pollers and the function attach network interfaces in the brokers' subnets. EC2's
        # Describe* and CreateNetworkInterface take no resource-level scoping that Lambda can use.
        Sid      = "PlaceNetworkInterfaces"
        Effect   = "Allow"
        Action   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"]
        Resource = "*"
      },
    ] : [],
  )
}

resource "aws_sqs_queue" "rejects" {
  name                              = "${var.name_prefix}-kafka-rejects"
  message_retention_seconds         = var.retention_days * 86400
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 3600

  tags = merge(var.tags, { Name = "${var.name_prefix}-kafka-rejects" })
}

resource "aws_dynamodb_table" "idempotency" {
  #checkov:skip=CKV_AWS_28:Records expire with the retention window and hold outcomes (ids, reasons), no image bytes; backups would keep image-derived data past its TTL.
  name         = "${var.name_prefix}-kafka-idempotency"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }

  ttl {
    attribute_name = "expiration"
    enabled        = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-kafka-idempotency" })
}

module "function" {
  source = "../lambda_function"

  name         = local.function_name
  description  = "${var.name_prefix}: Kafka records -> raw images + metadata"
  package      = var.function
  architecture = var.lambda_architecture
  memory_size  = var.memory_mb
  timeout      = var.timeout_seconds
  # A Kafka source invokes at most once per partition at a time; reserving caps or guarantees that share.
  reserved_concurrency = var.reserved_concurrency
  kms_key_arn          = var.kms_key_arn
  # Logs describe image-derived data, which is never kept longer than retention_days (at most 7).
  log_retention_days = var.retention_days
  environment_variables = {
    RAW_BUCKET              = var.raw_bucket_name
    RAW_PREFIX              = var.raw_prefix
    CLAIM_CHECK_PREFIX      = var.claim_check_prefix
    SOURCE_TENANTS_JSON     = jsonencode(var.kafka.source_tenants)
    DEFAULT_TENANT          = var.kafka.default_tenant == null ? "" : var.kafka.default_tenant
    TABLE_NAME              = var.table_name
    IDEMPOTENCY_TABLE       = aws_dynamodb_table.idempotency.name
    IDEMPOTENCY_SECONDS     = tostring(var.retention_days * 86400)
    REJECTS_QUEUE_URL       = aws_sqs_queue.rejects.url
    KMS_KEY_ARN             = var.kms_key_arn
    RETENTION_DAYS          = tostring(var.retention_days)
    MAX_INLINE_BYTES        = tostring(var.max_inline_bytes)
    POWERTOOLS_SERVICE_NAME = "kafka_ingest"
    # X-Ray keeps traces 30 days, whatever the retention: no return values or error text (image metadata) there.
    POWERTOOLS_TRACER_CAPTURE_RESPONSE = "false"
    POWERTOOLS_TRACER_CAPTURE_ERROR    = "false"
    LOG_LEVEL                          = var.log_level
  }
  policy_statements = local.statements
  function_tags     = { "imgpipe:function" = "kafka_ingest" }
  tags              = var.tags
}

resource "aws_lambda_event_source_mapping" "kafka" {
  count = var.create_event_source_mapping ? 1 : 0

  function_name                      = module.function.alias_arn
  event_source_arn                   = local.is_msk ? local.cluster_arn : null
  topics                             = [var.kafka.topic]
  starting_position                  = var.starting_position
  batch_size                         = var.batch_size
  maximum_batching_window_in_seconds = var.batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  dynamic "amazon_managed_kafka_event_source_config" {
    for_each = local.is_msk ? [1] : []
    content {
      consumer_group_id = var.kafka.consumer_group_id
    }
  }

  dynamic "self_managed_event_source" {
    for_each = local.is_msk ? [] : [1]
    content {
      endpoints = { KAFKA_BOOTSTRAP_SERVERS = join(",", var.kafka.bootstrap_servers) }
    }
  }

  dynamic "self_managed_kafka_event_source_config" {
    for_each = local.is_msk ? [] : [1]
    content {
      consumer_group_id = var.kafka.consumer_group_id
    }
  }

  dynamic "source_access_configuration" {
    for_each = local.is_msk ? [] : concat(
      [for s in var.kafka.subnet_ids : { type = "VPC_SUBNET", uri = "subnet:${s}" }],
      [for g in var.kafka.security_group_ids : { type = "VPC_SECURITY_GROUP", uri = "security_group:${g}" }],
      local.is_scram ? [{ type = "SASL_SCRAM_512_AUTH", uri = local.scram_secret }] : [],
    )
    content {
      type = source_access_configuration.value.type
      uri  = source_access_configuration.value.uri
    }
  }

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.rejects.arn
    }
  }
}
