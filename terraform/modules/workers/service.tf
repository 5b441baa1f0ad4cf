resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name_prefix}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.architecture
  }

  # The root filesystem is read-only: /tmp (the health file, Pillow's scratch) is a volume of its own.
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([{
    name                   = local.container_name
    image                  = var.image
    essential              = true
    user                   = "65532:65532"
    readonlyRootFilesystem = true
    privileged             = false
    # SIGTERM, then drain_seconds to finish an image, then SIGKILL: within Fargate Spot's two minutes.
    stopTimeout = var.drain_seconds + 15
    environment = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    mountPoints = [{ sourceVolume = "tmp", containerPath = "/tmp", readOnly = false }]
    linuxParameters = {
      initProcessEnabled = true # SIGTERM reaches the worker, zombies are reaped
      capabilities       = { drop = ["ALL"] }
    }
    healthCheck = {
      command     = ["CMD", "python3", "-c", "import os, sys, time; sys.exit(time.time() - os.path.getmtime('/tmp/healthy') > 90)"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 30
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.workers.name
        awslogs-region        = local.region
        awslogs-stream-prefix = "worker"
      }
    }
  }])
}

resource "aws_security_group" "workers" {
  name        = "${var.name_prefix}-workers"
  description = "imgpipe workers: HTTPS out to the VPC endpoints and S3/DynamoDB gateway endpoints only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_egress_rule" "to_interface_endpoints" {
  security_group_id            = aws_security_group.workers.id
  description                  = "HTTPS to the interface endpoints (SQS, KMS, ECR, Logs, STS)"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.endpoints.id
}

resource "aws_vpc_security_group_egress_rule" "to_gateway_endpoints" {
  for_each = { s3 = aws_vpc_endpoint.gateway["s3"].prefix_list_id, dynamodb = aws_vpc_endpoint.gateway["dynamodb"].prefix_list_id }

  security_group_id = aws_security_group.workers.id
  description       = "HTTPS to ${each.key} through its gateway endpoint"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = each.value
}

resource "aws_ecs_service" "workers" {
  name                   = "${var.name_prefix}-workers"
  cluster                = aws_ecs_cluster.this.id
  task_definition        = aws_ecs_task_definition.worker.arn
  desired_count          = var.min_tasks
  enable_execute_command = false # no shell into a task that reads images
  # Spot reclaims capacity zone by zone: ECS moves tasks back to balance the zones after an interruption.
  availability_zone_rebalancing = "ENABLED"
  propagate_tags                = "SERVICE"
  tags                          = var.tags

  capacity_provider_strategy {
    capacity_provider = "FARGATE"
    base              = var.fargate_base
    weight            = var.fargate_weight
  }
  capacity_provider_strategy {
    capacity_provider = "FARGATE_SPOT"
    weight            = var.spot_weight
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.workers.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    ignore_changes = [desired_count] # the scaling policy owns it
  }

  depends_on = [aws_ecs_cluster_capacity_providers.this]
}
