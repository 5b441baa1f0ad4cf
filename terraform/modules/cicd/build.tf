################################################################################
# Builds: one CodeBuild project per stage, each with its own role and log group
################################################################################

resource "aws_cloudwatch_log_group" "build" {
  for_each = local.log_groups

  name              = each.value
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = merge(var.tags, { Name = each.value })
}

resource "aws_iam_role" "build" {
  for_each = local.stages

  name        = "${local.name}-${each.key}"
  description = "${local.name}: the ${each.key} stage's CodeBuild project"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codebuild.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = local.project_arns[each.key] }
      }
    }]
  })

  tags = merge(var.tags, { Name = "${local.name}-${each.key}" })
}

# checkov cannot evaluate policies built from these locals; tests/cicd.tftest.hcl asserts each stage's reach.
resource "aws_iam_role_policy" "build" {
  for_each = local.stages

  name   = "${local.name}-${each.key}"
  role   = aws_iam_role.build[each.key].id
  policy = jsonencode({ Version = "2012-10-17", Statement = local.stage_policies[each.key] })
}

# Terraform plan reads every resource type the stack declares: AWS's maintained read-only policy, with the
# explicit denies above taking data reads back out.
resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.build["plan"].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_codebuild_report_group" "tests" {
  name           = "${local.name}-test-pytest"
  type           = "TEST"
  delete_reports = true

  export_config {
    type = "NO_EXPORT"
  }

  tags = var.tags
}

resource "aws_codebuild_project" "stage" {
  #checkov:skip=CKV_AWS_316:Only the image stage is privileged (Docker builds need it); it may push to the workers' repository and nothing else.
  for_each = local.stages

  name           = "${local.name}-${each.key}"
  description    = "${local.name}: ${each.key} (ci/buildspec-${each.key}.yml)"
  service_role   = aws_iam_role.build[each.key].arn
  encryption_key = aws_kms_key.this.arn
  build_timeout  = local.build_timeout_minutes[each.key]

  source {
    type      = "CODEPIPELINE"
    buildspec = "ci/buildspec-${each.key}.yml"
  }

  artifacts {
    type = "CODEPIPELINE"
  }

  # The image stage builds an arm64 image on an arm64 host with Docker, which needs privileged mode; it holds no
  # AWS right but pushing to the workers' repository, and runs only this commit's Dockerfile.
  environment {
    compute_type                = each.key == "image" ? var.image_compute_type : var.compute_type
    image                       = each.key == "image" ? var.image_build_image : var.build_image
    type                        = each.key == "image" ? "ARM_CONTAINER" : "LINUX_CONTAINER"
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = each.key == "image"

    dynamic "environment_variable" {
      for_each = local.build_environment[each.key]
      content {
        name  = environment_variable.key
        value = environment_variable.value
        type  = "PLAINTEXT"
      }
    }
  }

  logs_config {
    cloudwatch_logs {
      group_name = aws_cloudwatch_log_group.build[each.key].name
      status     = "ENABLED"
    }
    s3_logs {
      status = "DISABLED"
    }
  }

  tags = merge(var.tags, { Name = "${local.name}-${each.key}" })
}
