################################################################################
# The pipeline
################################################################################

resource "aws_iam_role" "pipeline" {
  name        = "${local.name}-pipeline"
  description = "${local.name}: CodePipeline, which only moves artifacts and starts the stage builds"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "codepipeline.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
      Condition = {
        StringEquals = { "aws:SourceAccount" = local.account_id }
        ArnLike      = { "aws:SourceArn" = local.pipeline_arn }
      }
    }]
  })

  tags = merge(var.tags, { Name = "${local.name}-pipeline" })
}

resource "aws_iam_role_policy" "pipeline" {
  name = "${local.name}-pipeline"
  role = aws_iam_role.pipeline.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "Artifacts"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:GetBucketVersioning", "s3:GetBucketLocation"]
          Resource = [local.artifact_arn, "${local.artifact_arn}/*"]
        },
        {
          Sid       = "ArtifactKeyThroughS3"
          Effect    = "Allow"
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = [aws_kms_key.this.arn]
          Condition = { StringEquals = { "kms:ViaService" = "s3.${local.region}.${local.dns_suffix}" } }
        },
        {
          Sid      = "StageBuilds"
          Effect   = "Allow"
          Action   = ["codebuild:StartBuild", "codebuild:BatchGetBuilds"]
          Resource = values(local.project_arns)
        },
      ],
      local.codestar ? [{
        Sid      = "Source"
        Effect   = "Allow"
        Action   = ["codestar-connections:UseConnection", "codeconnections:UseConnection"]
        Resource = [var.repository.connection_arn]
        }] : [{
        Sid      = "Source"
        Effect   = "Allow"
        Action   = ["codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetRepository", "codecommit:UploadArchive", "codecommit:GetUploadArchiveStatus", "codecommit:CancelUploadArchive"]
        Resource = [local.codecommit_arn]
      }],
      var.approval_topic_arn == null ? [] : [{
        Sid      = "ApprovalNotice"
        Effect   = "Allow"
        Action   = ["sns:Publish"]
        Resource = [var.approval_topic_arn]
      }],
    )
  })
}

resource "aws_codepipeline" "this" {
  name     = local.name
  role_arn = aws_iam_role.pipeline.arn
  # V2 with SUPERSEDED: a newer commit's run replaces one still waiting for approval, so the plan approved is
  # always the newest; Terraform would refuse an older one anyway (a saved plan made against an older state is stale).
  pipeline_type  = "V2"
  execution_mode = "SUPERSEDED"

  artifact_store {
    type     = "S3"
    location = aws_s3_bucket.artifacts.bucket
    encryption_key {
      id   = aws_kms_key.this.arn
      type = "KMS"
    }
  }

  stage {
    name = "Source"
    action {
      name             = "Source"
      category         = "Source"
      owner            = "AWS"
      provider         = var.repository.provider
      version          = "1"
      output_artifacts = ["source"]
      configuration = local.codestar ? {
        ConnectionArn        = var.repository.connection_arn
        FullRepositoryId     = var.repository.id
        BranchName           = var.repository.branch
        OutputArtifactFormat = "CODE_ZIP"
        DetectChanges        = "true"
        } : {
        RepositoryName       = var.repository.id
        BranchName           = var.repository.branch
        PollForSourceChanges = "false" # the EventBridge rule below starts the pipeline on a push
        OutputArtifactFormat = "CODE_ZIP"
      }
    }
  }

  # Tests and the workers' image at once: both only read the source.
  stage {
    name = "Test"
    action {
      name            = "LintAndTest"
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      input_artifacts = ["source"]
      configuration   = { ProjectName = aws_codebuild_project.stage["test"].name }
    }
    action {
      name            = "BuildWorkerImage"
      category        = "Build"
      owner           = "AWS"
      provider        = "CodeBuild"
      version         = "1"
      namespace       = "Image"
      input_artifacts = ["source"]
      configuration   = { ProjectName = aws_codebuild_project.stage["image"].name }
    }
  }

  stage {
    name = "Plan"
    action {
      name             = "Plan"
      category         = "Build"
      owner            = "AWS"
      provider         = "CodeBuild"
      version          = "1"
      namespace        = "Plan"
      input_artifacts  = ["source"]
      output_artifacts = ["plan"]
      configuration = {
        ProjectName = aws_codebuild_project.stage["plan"].name
        # The image this commit built, by digest: what the environment's workers run if it has any.
        EnvironmentVariables = jsonencode([{ name = "TF_VAR_worker_image", value = "#{Image.WORKER_IMAGE}", type = "PLAINTEXT" }])
      }
    }
  }

  dynamic "stage" {
    for_each = var.manual_approval ? ["Approve"] : []
    content {
      name = stage.value
      action {
        name     = "ReviewPlan"
        category = "Approval"
        owner    = "AWS"
        provider = "Manual"
        version  = "1"
        configuration = merge(
          {
            # The plan build exports its summary's headline; the whole summary is in its log and the artifact.
            CustomData         = "ENV=${var.environment}: #{Plan.PLAN_HEADLINE} Data-losing changes: #{Plan.PLAN_DATA_AT_RISK}. Policies granting new access (IAM Access Analyzer): #{Plan.PLAN_NEW_ACCESS}. Full summary: the Plan build's log, and terraform/envs/${var.environment}/${var.environment}.tfplan.md in the plan artifact."
            ExternalEntityLink = "https://${local.region}.console.aws.amazon.com/codesuite/codebuild/${local.account_id}/projects/${local.name}-plan/history"
          },
          var.approval_topic_arn == null ? {} : { NotificationArn = var.approval_topic_arn },
        )
      }
    }
  }

  stage {
    name = "Apply"
    action {
      name     = "ApplySavedPlan"
      category = "Build"
      owner    = "AWS"
      provider = "CodeBuild"
      version  = "1"
      # The plan artifact holds the source it was made from, the packaged zips it names and the plan file:
      # apply gets nothing else, so it can only apply what was reviewed.
      input_artifacts = ["plan"]
      configuration   = { ProjectName = aws_codebuild_project.stage["apply"].name }
    }
  }

  tags = merge(var.tags, { Name = local.name })
}
