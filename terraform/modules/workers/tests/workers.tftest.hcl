# Plan-only tests with a mocked AWS provider: the workers' isolation, least privilege and scaling policy.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
    }
  }
}

override_resource {
  target          = aws_cloudwatch_log_group.workers
  override_during = plan
  values = {
    arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/imgpipe-test-workers"
  }
}

variables {
  name_prefix    = "imgpipe-test"
  image          = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/imgpipe-worker@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  repository_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/imgpipe-worker"
  queue_arn      = "arn:aws:sqs:eu-west-1:123456789012:imgpipe-test-raw-events"
  queue_url      = "https://sqs.eu-west-1.amazonaws.com/123456789012/imgpipe-test-raw-events"
  queue_name     = "imgpipe-test-raw-events"
  kms_key_arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  processor_statements = [{
    Sid      = "ReadAndUpdateImageMetadata"
    Effect   = "Allow"
    Action   = ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    Resource = "arn:aws:dynamodb:eu-west-1:123456789012:table/imgpipe-test-images"
  }]
  environment     = { TABLE_NAME = "imgpipe-test-images", RAW_BUCKET = "imgpipe-test-raw" }
  vpc_id          = "vpc-0123456789abcdef0"
  subnet_ids      = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
  route_table_ids = ["rtb-0ccccccccccccccc3"]
}

run "tasks_have_no_public_ip_and_reach_aws_through_endpoints_only" {
  command = plan

  assert {
    condition     = one(aws_ecs_service.workers.network_configuration).assign_public_ip == false
    error_message = "Worker tasks must never get a public IP."
  }
  assert {
    condition     = toset(keys(aws_vpc_endpoint.interface)) == toset(["sqs", "kms", "ecr.api", "ecr.dkr", "logs", "sts"]) && toset(keys(aws_vpc_endpoint.gateway)) == toset(["s3", "dynamodb"])
    error_message = "Every service the worker calls needs an endpoint (there is no NAT)."
  }
  assert {
    condition     = alltrue([for e in aws_vpc_endpoint.interface : e.private_dns_enabled && e.vpc_endpoint_type == "Interface"])
    error_message = "Interface endpoints must answer the services' own names (private DNS)."
  }
  assert {
    condition     = aws_vpc_security_group_egress_rule.to_interface_endpoints.from_port == 443 && length(aws_vpc_security_group_egress_rule.to_gateway_endpoints) == 2
    error_message = "The workers' only egress is HTTPS to the endpoints."
  }
}

run "the_container_is_locked_down" {
  command = plan

  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].readonlyRootFilesystem == true && jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].user == "65532:65532"
    error_message = "Read-only root filesystem, not root."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].linuxParameters.capabilities.drop == ["ALL"] && jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].privileged == false
    error_message = "No Linux capabilities, not privileged."
  }
  assert {
    condition     = jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].stopTimeout <= 120
    error_message = "The stop timeout must fit in Fargate Spot's two-minute notice."
  }
  assert {
    condition     = one(aws_ecs_task_definition.worker.runtime_platform).cpu_architecture == "ARM64"
    error_message = "Graviton by default."
  }
  assert {
    condition     = contains([for e in jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].environment : e.name], "QUEUE_URL") && contains([for e in jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].environment : e.name], "TABLE_NAME")
    error_message = "The worker gets the processor's settings plus its queue."
  }
  assert {
    condition     = { for e in jsondecode(aws_ecs_task_definition.worker.container_definitions)[0].environment : e.name => e.value }["WORKER_WAIT_SECONDS"] == "20"
    error_message = "Tasks long-poll for 20 s by default: an idle task costs one receive per 20 s."
  }
  assert {
    condition     = aws_ecs_service.workers.enable_execute_command == false
    error_message = "No shell into tasks that read images."
  }
  assert {
    condition     = aws_cloudwatch_log_group.workers.retention_in_days <= 7 && aws_cloudwatch_log_group.workers.kms_key_id == var.kms_key_arn
    error_message = "Logs name image ids: KMS-encrypted and kept no longer than the images."
  }
}

run "the_roles_hold_the_processors_grants_and_nothing_more" {
  command = plan

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.task.policy).Statement : s.Sid] == ["ReadAndUpdateImageMetadata", "ConsumeWorkQueue"]
    error_message = "The task role is the processor's statements plus the work queue."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s.Resource != "*" || s.Action == ["ecr:GetAuthorizationToken"]
    ])
    error_message = "Only ECR's registry token (which has no resource) may name \"*\"."
  }
  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.execution.policy).Statement : s if s.Sid == "PullTheWorkerImage"]).Resource == var.repository_arn
    error_message = "The execution role pulls from the worker's repository alone."
  }
}

run "scaling_tracks_the_backlog_per_task_from_zero" {
  command = plan

  assert {
    condition     = aws_appautoscaling_target.workers.min_capacity == 0 && aws_appautoscaling_target.workers.max_capacity == 10
    error_message = "Scale to zero when idle, bounded above."
  }
  assert {
    condition     = output.target_backlog_per_task == 40
    error_message = "60 s acceptable latency at 1.5 s per image is a backlog of 40 per task."
  }
  assert {
    condition     = [for m in one(one(aws_appautoscaling_policy.backlog_per_task.target_tracking_scaling_policy_configuration).customized_metric_specification).metrics : m.expression if m.return_data][0] == "IF(running > 0, visible / running, visible)"
    error_message = "The tracked metric is visible messages per running task (the backlog itself with none running)."
  }
  assert {
    condition     = [for s in aws_ecs_service.workers.capacity_provider_strategy : s.weight if s.capacity_provider == "FARGATE_SPOT"][0] == 3
    error_message = "Most tasks run on Fargate Spot by default."
  }
}

run "an_image_by_tag_is_refused" {
  command = plan

  variables {
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/imgpipe-worker:latest"
  }
  expect_failures = [var.image]
}

run "a_drain_longer_than_spots_notice_is_refused" {
  command = plan

  variables {
    drain_seconds = 115
  }
  expect_failures = [var.drain_seconds]
}

run "a_poll_outside_sqs_long_polling_is_refused" {
  command = plan

  variables {
    poll_wait_seconds = 0
  }
  expect_failures = [var.poll_wait_seconds]
}

run "only_this_accounts_ecs_tasks_assume_the_roles" {
  command = plan

  assert {
    condition = alltrue([for doc in [aws_iam_role.task.assume_role_policy, aws_iam_role.execution.assume_role_policy] : jsondecode(doc).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = "123456789012" }
        ArnLike      = { "aws:SourceArn" = "arn:aws:ecs:eu-west-1:123456789012:*" }
      }
    }]])
    error_message = "Only ECS tasks of this account may assume the task and execution roles."
  }
}

run "a_queue_the_workers_own_is_alarmed_here_and_one_they_share_is_not" {
  command = plan

  variables {
    dlq_name      = "imgpipe-test-large-images-dlq"
    queue_name    = "imgpipe-test-large-images"
    alarm_actions = ["arn:aws:sns:eu-west-1:123456789012:alarms"]
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.backlog_age[0].dimensions.QueueName == "imgpipe-test-large-images" &&
      aws_cloudwatch_metric_alarm.dlq_not_empty[0].dimensions.QueueName == "imgpipe-test-large-images-dlq" &&
      aws_cloudwatch_metric_alarm.dlq_not_empty[0].alarm_actions == toset(["arn:aws:sns:eu-west-1:123456789012:alarms"]) &&
      length(aws_cloudwatch_event_target.task_stopped) == 1
    )
    error_message = "An owned queue's backlog age and dead letters must alarm the topic, and stopped tasks reach it."
  }
}

run "tasks_are_rebalanced_across_zones_after_spot_takes_some" {
  command = plan

  assert {
    condition     = aws_ecs_service.workers.availability_zone_rebalancing == "ENABLED"
    error_message = "After a Spot interruption in one zone the service must spread its tasks again."
  }
}
