# The processor as container workers (#22): ECS Fargate tasks running containers/image_processor (the function's
# own package, `python3 -m worker`) against one queue, mostly on Fargate Spot, scaled on the backlog each task
# holds, from zero to max_tasks. Private subnets only: no public IP; AWS is reached through VPC endpoints.

data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix
  # Backlog per task that still meets the latency: images a task works through in acceptable_latency_seconds.
  target_backlog_per_task = max(1, floor(var.acceptable_latency_seconds / var.seconds_per_image))
  container_name          = "worker"
  environment = merge(var.environment, {
    QUEUE_URL                 = var.queue_url
    WORKER_DRAIN_SECONDS      = tostring(var.drain_seconds)
    WORKER_WAIT_SECONDS       = tostring(var.poll_wait_seconds)
    WORKER_HEALTH_FILE        = "/tmp/healthy"
    POWERTOOLS_TRACE_DISABLED = "true" # no X-Ray daemon beside the worker yet
  })
}

resource "aws_ecs_cluster" "this" {
  name = "${var.name_prefix}-workers"

  setting {
    name  = "containerInsights"
    value = "enabled" # RunningTaskCount, which the scaling policy divides the backlog by
  }
  tags = var.tags
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = var.fargate_base
    weight            = var.fargate_weight
  }
  default_capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    weight            = var.spot_weight
  }
}

resource "aws_cloudwatch_log_group" "workers" {
  #checkov:skip=CKV_AWS_338:The workers' logs name image ids, and nothing image-derived outlives the images' window (at most 7 days).
  name              = "/ecs/${var.name_prefix}-workers"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}
