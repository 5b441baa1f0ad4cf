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
