# The delivery pipeline of one environment: source → test (make lint test) → plan (saved, summarised) →
# approval → apply (that saved plan, nothing else). Each stage runs as its own role: the test stage can touch
# nothing in AWS but its logs and artifacts, the plan stage only reads (and writes the state's lock file), and
# only the apply stage changes the stack. No stage can read or write images, metadata, messages or secret
# values, and none can change the pipeline itself or the state bucket's protection.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  name            = "${var.name_prefix}-cicd"
  artifact_bucket = "${local.name}-artifacts-${local.account_id}"
  artifact_arn    = "arn:${local.partition}:s3:::${local.artifact_bucket}"
  pipeline_arn    = "arn:${local.partition}:codepipeline:${local.region}:${local.account_id}:${local.name}"
  stages          = toset(["test", "plan", "apply"])
  log_groups      = { for stage in local.stages : stage => "/aws/codebuild/${local.name}-${stage}" }
  log_group_arns  = { for stage, name in local.log_groups : stage => "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}" }
  project_arns    = { for stage in local.stages : stage => "arn:${local.partition}:codebuild:${local.region}:${local.account_id}:project/${local.name}-${stage}" }
  # CodeBuild names a buildspec's report group "<project>-<report>": the test buildspec's report is "pytest".
  report_group_arn = "arn:${local.partition}:codebuild:${local.region}:${local.account_id}:report-group/${local.name}-test-pytest"

  state_bucket_arn = "arn:${local.partition}:s3:::${var.state.bucket}"
  state_object_arn = "${local.state_bucket_arn}/${var.state.key}"
  state_lock_arn   = "${local.state_object_arn}.tflock"
  api_keys_secret  = "arn:${local.partition}:secretsmanager:${local.region}:${local.account_id}:secret:${var.name_prefix}/api-keys-*"
  stack_roles      = "arn:${local.partition}:iam::${local.account_id}:role/${var.name_prefix}-*"
  stack_policies   = "arn:${local.partition}:iam::${local.account_id}:policy/${var.name_prefix}-*"
  own_roles        = "arn:${local.partition}:iam::${local.account_id}:role/${local.name}-*"

  codestar = var.repository.provider == "CodeStarSourceConnection"
  codecommit_arn = local.codestar ? null : (
    "arn:${local.partition}:codecommit:${local.region}:${local.account_id}:${var.repository.id}"
  )

  # The AWS services the stack's modules create resources in (IAM prefixes). tests/unit/test_buildspecs.py
  # checks the list covers every resource type the modules declare; IAM is granted apart, scoped to the stack.
  deploy_services = [
    "access-analyzer", "apigateway", "athena", "cloudtrail", "cloudwatch", "cognito-idp", "dynamodb", "events", "glue",
    "guardduty", "kafka", "kms", "lambda", "logs", "quicksight", "s3", "secretsmanager", "sns", "sqs", "wafv2",
  ]

  # What no stage may do, whatever else it is granted: read or write the data the stack holds (objects outside
  # the state and the artifacts, table items, queue messages, stream records, secret values other than the
  # hashed API-key registry Terraform itself refreshes), run queries or functions that would read it for them,
  # or loosen the state bucket, the artifact bucket or this pipeline's roles.
  data_and_pipeline_guard = [
    {
      Sid         = "NoObjectsButStateAndArtifacts"
      Effect      = "Deny"
      Action      = ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:ReplicateObject"]
      NotResource = ["${local.state_bucket_arn}/*", "${local.artifact_arn}/*"]
    },
    {
      Sid    = "NoItemsMessagesOrRecords"
      Effect = "Deny"
      Action = [
        "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem",
        "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:PartiQL*",
        "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ExportTableToPointInTime",
        "sqs:ReceiveMessage", "sqs:SendMessage", "sqs:DeleteMessage", "sqs:PurgeQueue", "sqs:StartMessageMoveTask",
        "lambda:InvokeFunction", "lambda:InvokeFunctionUrl", "athena:StartQueryExecution", "athena:GetQueryResults",
        "kafka-cluster:*",
        # Web users are people's data too: the pipeline manages the pool, never who is in it or signs in as them.
        "cognito-idp:AdminCreateUser", "cognito-idp:AdminGetUser", "cognito-idp:ListUsers", "cognito-idp:ListUsersInGroup",
        "cognito-idp:AdminSetUserPassword", "cognito-idp:AdminInitiateAuth", "cognito-idp:AdminRespondToAuthChallenge",
        "cognito-idp:AdminAddUserToGroup", "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminUpdateUserAttributes",
      ]
      Resource = ["*"]
    },
    {
      Sid         = "NoSecretValuesButTheKeyRegistry"
      Effect      = "Deny"
      Action      = ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:BatchGetSecretValue"]
      NotResource = [local.api_keys_secret]
    },
    {
      Sid      = "StateAndArtifactBucketsStayAsBootstrapped"
      Effect   = "Deny"
      Action   = ["s3:DeleteBucket*", "s3:PutBucket*", "s3:PutLifecycleConfiguration", "s3:PutEncryptionConfiguration", "s3:PutReplicationConfiguration", "s3:DeleteObjectVersion"]
      Resource = [local.state_bucket_arn, "${local.state_bucket_arn}/*", local.artifact_arn, "${local.artifact_arn}/*"]
    },
    {
      Sid      = "NotThePipelineItself"
      Effect   = "Deny"
      Action   = ["iam:*", "codepipeline:*", "codebuild:*", "codestar-connections:*", "codeconnections:*"]
      Resource = concat([local.own_roles, local.pipeline_arn, "${local.pipeline_arn}/*"], values(local.project_arns))
    },
    {
      Sid      = "KeysOfStateAndArtifactsStay"
      Effect   = "Deny"
      Action   = ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:CreateGrant", "kms:RevokeGrant", "kms:DisableKeyRotation"]
      Resource = [var.state.kms_key_arn, aws_kms_key.this.arn]
    },
  ]

  # Every stage: its own log group, the artifacts (read; plan also writes its output artifact) and the key.
  build_basics = {
    for stage in local.stages : stage => [
      {
        Sid      = "OwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${local.log_group_arns[stage]}:*"]
      },
      {
        Sid      = "Artifacts"
        Effect   = "Allow"
        Action   = stage == "plan" ? ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"] : ["s3:GetObject", "s3:GetObjectVersion"]
        Resource = ["${local.artifact_arn}/*"]
      },
      {
        Sid      = "ArtifactKeyThroughS3"
        Effect   = "Allow"
        Action   = stage == "plan" ? ["kms:Decrypt", "kms:GenerateDataKey"] : ["kms:Decrypt"]
        Resource = [aws_kms_key.this.arn]
        Condition = {
          StringEquals = { "kms:ViaService" = "s3.${local.region}.${local.dns_suffix}" }
        }
      },
    ]
  }

  # The state: read by plan and apply, the lock file written by both, the state itself only by apply.
  state_access = {
    for stage in ["plan", "apply"] : stage => [
      {
        Sid      = stage == "apply" ? "StateReadWrite" : "StateRead"
        Effect   = "Allow"
        Action   = stage == "apply" ? ["s3:GetObject", "s3:PutObject"] : ["s3:GetObject"]
        Resource = [local.state_object_arn]
      },
      {
        Sid      = "StateList"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [local.state_bucket_arn]
      },
      {
        Sid      = "StateLock"
        Effect   = "Allow"
        Action   = ["s3:PutObject", "s3:DeleteObject"]
        Resource = [local.state_lock_arn]
      },
    ]
  }
  state_key_access = {
    Sid      = "StateKeyThroughS3"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    Resource = [var.state.kms_key_arn]
    Condition = {
      StringEquals = { "kms:ViaService" = "s3.${var.state.region}.${local.dns_suffix}" }
    }
  }
  # Terraform refreshes the API-key registry's first version (hashes only, never keys): plan and apply read it.
  registry_read = [
    {
      Sid      = "KeyRegistryRefresh"
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = [local.api_keys_secret]
    },
    {
      Sid      = "KeyRegistryKeyThroughSecretsManager"
      Effect   = "Allow"
      Action   = ["kms:Decrypt"]
      Resource = ["*"] # the stack's CMK, not known to this module; bound to the registry below
      Condition = {
        StringEquals = { "kms:ViaService" = "secretsmanager.${local.region}.${local.dns_suffix}" }
        StringLike   = { "kms:EncryptionContext:SecretARN" = local.api_keys_secret }
      }
    },
  ]

  stage_policies = {
    test = concat(local.build_basics["test"], [
      {
        Sid      = "TestReports"
        Effect   = "Allow"
        Action   = ["codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases"]
        Resource = [local.report_group_arn]
      },
    ])
    plan = concat(local.build_basics["plan"], local.state_access["plan"], [local.state_key_access], local.registry_read, [
      {
        # IAM Access Analyzer validates every policy of the saved plan (scripts/ops/authz/analyzer.py). Both actions
        # read the documents they are given and nothing of the account; AWS offers no resource to scope them to.
        Sid      = "ValidatePlannedPolicies"
        Effect   = "Allow"
        Action   = ["access-analyzer:ValidatePolicy", "access-analyzer:CheckNoNewAccess"]
        Resource = ["*"]
      },
    ], local.data_and_pipeline_guard)
    apply = concat(local.build_basics["apply"], local.state_access["apply"], [local.state_key_access], local.registry_read, [
      {
        Sid      = "StackServices"
        Effect   = "Allow"
        Action   = [for service in local.deploy_services : "${service}:*"]
        Resource = ["*"]
      },
      {
        Sid      = "VpcEndpointsAndSecurityGroups"
        Effect   = "Allow"
        Action   = ["ec2:Describe*", "ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints", "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroup*", "ec2:RevokeSecurityGroup*", "ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptions*", "ec2:CreateTags", "ec2:DeleteTags", "ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]
        Resource = ["*"]
      },
      {
        Sid      = "StackRolesOnly"
        Effect   = "Allow"
        Action   = ["iam:*"]
        Resource = [local.stack_roles, local.stack_policies]
      },
      {
        Sid      = "ReadIam"
        Effect   = "Allow"
        Action   = ["iam:Get*", "iam:List*"]
        Resource = ["*"]
      },
      {
        Sid      = "ServiceLinkedRoles"
        Effect   = "Allow"
        Action   = ["iam:CreateServiceLinkedRole"]
        Resource = ["arn:${local.partition}:iam::${local.account_id}:role/aws-service-role/*"]
        Condition = {
          StringEquals = {
            "iam:AWSServiceName" = [
              "guardduty.${local.dns_suffix}", "malware-protection-plan.guardduty.${local.dns_suffix}",
              "kafka.${local.dns_suffix}", "access-analyzer.${local.dns_suffix}", "ops.apigateway.${local.dns_suffix}",
            ]
          }
        }
      },
    ], local.data_and_pipeline_guard)
  }

  build_environment = {
    test = { IMGPIPE_ENV = var.environment, TERRAFORM_VERSION = var.terraform_version, TFLINT_VERSION = var.tflint_version }
    plan = local.state_build_environment
    # AUTO_APPROVE: the approval stage before it is the confirmation `make apply` would otherwise ask for.
    apply = merge(local.state_build_environment, { AUTO_APPROVE = "1" })
  }
  state_build_environment = {
    IMGPIPE_ENV         = var.environment
    TERRAFORM_VERSION   = var.terraform_version
    TF_STATE_BUCKET     = var.state.bucket
    TF_STATE_KEY        = var.state.key
    TF_STATE_REGION     = var.state.region
    TF_STATE_KMS_KEY_ID = var.state.kms_key_arn
  }
  build_timeout_minutes = { test = 90, plan = 30, apply = 60 }
}

################################################################################
# Key and artifact bucket: saved plans can hold sensitive values, so both are the pipeline's own, short-lived
################################################################################

resource "aws_kms_key" "this" {
  description             = "${local.name}: pipeline artifacts (source, packages, saved plans) and build logs"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountAdministersThroughIam"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "BuildLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.${local.dns_suffix}" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = { "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/codebuild/${local.name}-*" }
        }
      },
    ]
  })

  tags = merge(var.tags, { Name = local.name })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_144:Artifacts are rebuilt by the next run; a second region would only be one more copy of saved plans to protect.
  #checkov:skip=CKV_AWS_18:Access to artifacts is recorded by CloudTrail (management events, and data events where the organisation's trail takes them); server access logs would be one more store to bound.
  #checkov:skip=CKV2_AWS_62:Nothing consumes artifact events; CodePipeline drives every stage.
  bucket = local.artifact_bucket

  tags = merge(var.tags, { Name = local.artifact_bucket })
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  versioning_configuration {
    status = "Enabled" # CodePipeline requires it of its artifact store
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket                  = aws_s3_bucket.artifacts.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "artifacts-expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.artifact_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "TlsOnly"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.artifact_arn, "${local.artifact_arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "NoOlderTls"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [local.artifact_arn, "${local.artifact_arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}

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

  environment {
    compute_type                = var.compute_type
    image                       = var.build_image
    type                        = "LINUX_CONTAINER"
    image_pull_credentials_type = "CODEBUILD"
    privileged_mode             = false

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
      configuration    = { ProjectName = aws_codebuild_project.stage["plan"].name }
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

################################################################################
# CodeCommit sources: a push to the branch starts the pipeline (connections detect changes themselves)
################################################################################

resource "aws_cloudwatch_event_rule" "push" {
  count = local.codestar ? 0 : 1

  name        = "${local.name}-push"
  description = "${local.name}: start the pipeline on a push to ${var.repository.branch}"
  event_pattern = jsonencode({
    source      = ["aws.codecommit"]
    detail-type = ["CodeCommit Repository State Change"]
    resources   = [local.codecommit_arn]
    detail = {
      event         = ["referenceCreated", "referenceUpdated"]
      referenceType = ["branch"]
      referenceName = [var.repository.branch]
    }
  })

  tags = var.tags
}

resource "aws_iam_role" "push" {
  count = local.codestar ? 0 : 1

  name = "${local.name}-push"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  tags = merge(var.tags, { Name = "${local.name}-push" })
}

resource "aws_iam_role_policy" "push" {
  count = local.codestar ? 0 : 1

  name = "${local.name}-push"
  role = aws_iam_role.push[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["codepipeline:StartPipelineExecution"]
      Resource = [aws_codepipeline.this.arn]
    }]
  })
}

resource "aws_cloudwatch_event_target" "push" {
  count = local.codestar ? 0 : 1

  rule     = aws_cloudwatch_event_rule.push[0].name
  arn      = aws_codepipeline.this.arn
  role_arn = aws_iam_role.push[0].arn
}
