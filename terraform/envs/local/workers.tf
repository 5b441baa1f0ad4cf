# The container workers' surroundings, made in the emulator so that modules/workers applies as it would on AWS:
# a VPC with two private subnets and their route table, and the ECR repository. There is no container engine
# here: the "image" is the processor's Lambda package (the Dockerfile's content, tests/unit/test_container_image.py),
# named by a digest of its manifest entry (its zip's SHA-256) as an image is by its own, and
# scripts/local/ecs_tasks.py runs the task definition's command as processes.

locals {
  with_workers = var.processing_mode != "lambda"
  # Written by `make package`: the processor's zip and its SHA-256; a new package is a new "image".
  dist_dir         = coalesce(var.lambda_dist_dir, "${path.root}/../../../dist/lambda")
  processor_digest = sha256(jsonencode(jsondecode(file("${local.dist_dir}/manifest.json")).image_processor))
}

data "aws_caller_identity" "current" {}

resource "aws_vpc" "workers" {
  #checkov:skip=CKV2_AWS_11:The emulator's VPC carries no packet: the local tasks are processes on 127.0.0.1, and there is nothing to log.
  count = local.with_workers ? 1 : 0

  cidr_block           = "10.42.0.0/16"
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints answer on the services' own names
  tags                 = { Name = "${var.project}-${var.environment}-workers" }
}

# The VPC's default group allows nothing (the workers have their own, modules/workers).
resource "aws_default_security_group" "workers" {
  count = local.with_workers ? 1 : 0

  vpc_id = aws_vpc.workers[0].id
  tags   = { Name = "${var.project}-${var.environment}-workers-default" }
}

resource "aws_subnet" "workers" {
  count = local.with_workers ? 2 : 0

  vpc_id            = aws_vpc.workers[0].id
  cidr_block        = cidrsubnet("10.42.0.0/16", 8, count.index)
  availability_zone = "${var.region}${["a", "b"][count.index]}"
  tags              = { Name = "${var.project}-${var.environment}-workers-${count.index}" }
}

resource "aws_route_table" "workers" {
  count = local.with_workers ? 1 : 0

  vpc_id = aws_vpc.workers[0].id
  tags   = { Name = "${var.project}-${var.environment}-workers" }
}

resource "aws_route_table_association" "workers" {
  count = local.with_workers ? 2 : 0

  subnet_id      = aws_subnet.workers[count.index].id
  route_table_id = aws_route_table.workers[0].id
}

resource "aws_ecr_repository" "worker" {
  count = local.with_workers ? 1 : 0

  name                 = "${var.project}-${var.environment}-worker"
  image_tag_mutability = "IMMUTABLE"
  force_delete         = true # disposable, as every local store

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }
}
