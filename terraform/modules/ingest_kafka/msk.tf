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
