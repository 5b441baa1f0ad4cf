# Two roles: the execution role pulls the image and writes the log stream (ECS's part), the task role is the
# processor's own grants (modules/processing) and nothing more.

data "aws_caller_identity" "current" {}

locals {
  # Only ECS tasks of this account may assume either role (the confused-deputy guard ECS documents).
  assume_by_ecs_tasks = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.${data.aws_partition.current.dns_suffix}" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id }
        ArnLike      = { "aws:SourceArn" = "arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*" }
      }
    }]
  })
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-workers-execution"
  assume_role_policy = local.assume_by_ecs_tasks
  tags               = var.tags
}

resource "aws_iam_role_policy" "execution" {
  name = "pull-image-and-write-logs"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "PullTheWorkerImage"
        Effect   = "Allow"
        Action   = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        Resource = var.repository_arn
      },
      {
        # ECR's token is account-wide by design: the action has no resource to scope it to.
        Sid      = "GetRegistryToken"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = "*"
      },
      {
        Sid      = "WriteWorkerLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.workers.arn}:*"
      },
    ]
  })
}

resource "aws_iam_role" "task" {
  name               = "${var.name_prefix}-workers-task"
  assume_role_policy = local.assume_by_ecs_tasks
  tags               = var.tags
}

resource "aws_iam_role_policy" "task" {
  name = "processor"
  role = aws_iam_role.task.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(var.processor_statements, [{
      # The queue these workers poll (the processor's own, or the split mode's queue of large images).
      Sid      = "ConsumeWorkQueue"
      Effect   = "Allow"
      Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
      Resource = var.queue_arn
    }])
  })
}
