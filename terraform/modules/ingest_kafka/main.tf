# Kafka ingestion: a Kafka event source (an existing MSK cluster with IAM auth, or a self-managed Kafka) ->
# kafka_ingest (imgpipe.kafka_ingest: validate, raw object + RECEIVED item) -> the same raw prefix the processor
# consumes. Wrong records are reported with their coordinates (never their bytes) to the rejects queue, which is
# also the event source's on-failure destination for records that keep failing transiently.

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

################################################################################
# Network: interface endpoints for the event source's pollers (no NAT needed)
################################################################################

# Lambda's Kafka pollers run in the brokers' subnets with the source's security groups (for MSK: the cluster's).
# They call STS (IAM auth), Lambda (to invoke the function) and, with SCRAM, Secrets Manager; these endpoints let
# them do so without a route to the internet.
locals {
  poller_security_group_ids = concat(var.kafka.security_group_ids, aws_security_group.brokers[*].id)
  endpoint_services         = local.vpc_endpoints ? concat(["sts", "lambda"], local.is_scram ? ["secretsmanager"] : []) : []
}

resource "aws_security_group" "endpoints" {
  count = local.vpc_endpoints ? 1 : 0

  name        = "${var.name_prefix}-kafka-endpoints"
  description = "HTTPS from the Kafka event source pollers to the STS, Lambda and Secrets Manager endpoints"
  vpc_id      = var.kafka.vpc_id

  ingress {
    description     = "HTTPS from the Kafka pollers security groups"
    from_port       = 443
    to_port         = 443
    protocol        = "tcp"
    security_groups = local.poller_security_group_ids
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-kafka-endpoints" })
}

resource "aws_vpc_endpoint" "pollers" {
  for_each = toset(local.endpoint_services)

  vpc_id              = var.kafka.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.kafka.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = merge(var.tags, { Name = "${var.name_prefix}-kafka-${each.key}" })
}

################################################################################
# A new MSK cluster (non-production; production names the Kafka engineers' cluster)
################################################################################

locals {
  broker_nodes = local.new_cluster ? coalesce(var.new_msk_cluster.number_of_broker_nodes, length(var.kafka.subnet_ids)) : 0
}

resource "aws_security_group" "brokers" {
  count = local.new_cluster ? 1 : 0

  name        = "${var.name_prefix}-kafka-brokers"
  description = "MSK brokers (IAM over TLS, 9098) and the Lambda pollers that share this group"
  vpc_id      = var.kafka.vpc_id

  tags = merge(var.tags, { Name = "${var.name_prefix}-kafka-brokers" })
}

# Rules as their own resources: the endpoints' group refers to this one and this one to it (no cycle).
resource "aws_vpc_security_group_ingress_rule" "brokers_from_group" {
  count = local.new_cluster ? 1 : 0

  description                  = "Kafka over TLS with IAM auth, between brokers and from the pollers in this group"
  security_group_id            = aws_security_group.brokers[0].id
  referenced_security_group_id = aws_security_group.brokers[0].id
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
}

resource "aws_vpc_security_group_ingress_rule" "brokers_from_consumers" {
  for_each = local.new_cluster ? toset(var.kafka.security_group_ids) : toset([])

  description                  = "Kafka over TLS with IAM auth from a consumer security group"
  security_group_id            = aws_security_group.brokers[0].id
  referenced_security_group_id = each.key
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
}

resource "aws_vpc_security_group_egress_rule" "brokers_to_group" {
  count = local.new_cluster ? 1 : 0

  description                  = "Pollers to the brokers"
  security_group_id            = aws_security_group.brokers[0].id
  referenced_security_group_id = aws_security_group.brokers[0].id
  ip_protocol                  = "tcp"
  from_port                    = 9098
  to_port                      = 9098
}

resource "aws_vpc_security_group_egress_rule" "brokers_to_endpoints" {
  count = local.new_cluster && local.vpc_endpoints ? 1 : 0

  description                  = "Pollers to the STS / Lambda / Secrets Manager interface endpoints"
  security_group_id            = aws_security_group.brokers[0].id
  referenced_security_group_id = aws_security_group.endpoints[0].id
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
}

resource "aws_msk_configuration" "this" {
  count = local.new_cluster ? 1 : 0

  name           = "${var.name_prefix}-images"
  kafka_versions = [var.new_msk_cluster.kafka_version]
  # The topic holds image bytes: it keeps them no longer than the retention window, like every other store.
  # Kafka deletes whole segments once their newest record is past retention, so segments roll hourly (the
  # default, 7 days, would let bytes live up to a week longer).
  # Messages may be as large as max_inline_bytes plus headers; topics are created on first use with the
  # partition count the event source scales by.
  server_properties = <<-EOT
    auto.create.topics.enable=true
    num.partitions=${var.new_msk_cluster.partitions}
    default.replication.factor=${min(3, local.broker_nodes)}
    min.insync.replicas=${max(1, min(2, local.broker_nodes - 1))}
    message.max.bytes=${var.max_inline_bytes + 65536}
    log.retention.hours=${var.retention_days * 24}
    log.roll.hours=1
  EOT
}

resource "aws_cloudwatch_log_group" "brokers" {
  #checkov:skip=CKV_AWS_338:Broker logs can name topics and clients of image-derived data; kept no longer than retention_days (at most 7).
  count = local.new_cluster ? 1 : 0

  name              = "/aws/msk/${var.name_prefix}-images"
  retention_in_days = local.log_retention
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = "/aws/msk/${var.name_prefix}-images" })
}

resource "aws_msk_cluster" "this" {
  count = local.new_cluster ? 1 : 0

  cluster_name           = "${var.name_prefix}-images"
  kafka_version          = var.new_msk_cluster.kafka_version
  number_of_broker_nodes = local.broker_nodes
  enhanced_monitoring    = "DEFAULT"

  broker_node_group_info {
    instance_type   = var.new_msk_cluster.broker_instance_type
    client_subnets  = var.kafka.subnet_ids
    security_groups = [aws_security_group.brokers[0].id]

    storage_info {
      ebs_storage_info {
        volume_size = var.new_msk_cluster.volume_size_gb
      }
    }

    connectivity_info {
      public_access {
        type = "DISABLED"
      }
    }
  }

  client_authentication {
    unauthenticated = false
    sasl {
      iam   = true
      scram = false
    }
  }

  encryption_info {
    encryption_at_rest_kms_key_arn = var.kms_key_arn
    encryption_in_transit {
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  configuration_info {
    arn      = aws_msk_configuration.this[0].arn
    revision = aws_msk_configuration.this[0].latest_revision
  }

  logging_info {
    broker_logs {
      cloudwatch_logs {
        enabled   = true
        log_group = aws_cloudwatch_log_group.brokers[0].name
      }
    }
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-images" })

  lifecycle {
    precondition {
      condition     = local.broker_nodes % length(var.kafka.subnet_ids) == 0
      error_message = "new_msk_cluster.number_of_broker_nodes must be a multiple of the number of kafka.subnet_ids (MSK spreads brokers evenly)."
    }
  }
}

################################################################################
# Alarms
################################################################################

resource "aws_cloudwatch_metric_alarm" "offset_lag" {
  alarm_name          = "${local.function_name}-offset-lag"
  alarm_description   = "${local.function_name} is more than ${var.offset_lag_alarm_threshold} records behind on ${var.kafka.topic}: ingestion is stalled or under-provisioned."
  namespace           = "AWS/Lambda"
  metric_name         = "OffsetLag"
  dimensions          = { FunctionName = local.function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = var.offset_lag_alarm_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions

  tags = var.tags
}

resource "aws_cloudwatch_metric_alarm" "rejects" {
  alarm_name          = "${var.name_prefix}-kafka-rejects-not-empty"
  alarm_description   = "Kafka records were rejected (reason and coordinates in ${aws_sqs_queue.rejects.name}) or given up after retries."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.rejects.name }
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

################################################################################
# SCRAM credentials (self-managed Kafka), when the caller has no secret of its own
################################################################################

# The secret holds no value from Terraform (none in state or plan): the operator puts {"username","password"}
# into it once (docs/kafka.md), and a rotation function, if given, changes it and the broker's user together.
resource "aws_secretsmanager_secret" "scram" {
  count = local.own_scram ? 1 : 0

  #checkov:skip=CKV2_AWS_57:Rotation needs a function that changes the broker's user too; it is wired when kafka.scram_rotation_lambda_arn is given (aws_secretsmanager_secret_rotation.scram).
  name                    = "${var.name_prefix}/kafka-scram"
  description             = "${var.name_prefix}: SASL/SCRAM-SHA-512 credentials kafka_ingest's event source uses for ${join(",", var.kafka.bootstrap_servers)}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.scram_secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_rotation" "scram" {
  count = local.own_scram && var.kafka.scram_rotation_lambda_arn != null ? 1 : 0

  #checkov:skip=CKV_AWS_304:checkov cannot read the interval from the kafka object; its validation holds it to 1-90 days (30 by default).
  secret_id           = aws_secretsmanager_secret.scram[0].id
  rotation_lambda_arn = var.kafka.scram_rotation_lambda_arn

  rotation_rules {
    automatically_after_days = var.kafka.scram_rotation_days
  }
}
