# Private subnets without a NAT: everything the worker calls has an endpoint. Interface endpoints admit HTTPS
# from the workers' security group only; S3 and DynamoDB are gateway endpoints on the subnets' route tables.

locals {
  interface_services = toset(["sqs", "kms", "ecr.api", "ecr.dkr", "logs", "sts"])
}

resource "aws_security_group" "endpoints" {
  name        = "${var.name_prefix}-workers-endpoints"
  description = "imgpipe workers' interface endpoints: HTTPS from the workers only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_workers" {
  security_group_id            = aws_security_group.endpoints.id
  description                  = "HTTPS from the workers"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.workers.id
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_services

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.subnet_ids
  security_group_ids  = [aws_security_group.endpoints.id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name_prefix}-workers-${each.value}" })
}

resource "aws_vpc_endpoint" "gateway" {
  for_each = toset(["s3", "dynamodb"])

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${local.region}.${each.value}"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.route_table_ids
  tags              = merge(var.tags, { Name = "${var.name_prefix}-workers-${each.value}" })
}
