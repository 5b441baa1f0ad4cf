# The delivery pipeline of one environment: source → test (make lint test) and image (the container workers',
# pushed to ECR) → plan (saved, summarised) → approval → apply (that saved plan, nothing else). Each stage runs as its own role: the test stage can touch
# nothing in AWS but its logs and artifacts, the plan stage only reads (and writes the state's lock file), and
# only the apply stage changes the stack. No stage can read or write images, metadata, messages or secret
# values, and none can change the pipeline itself or the state bucket's protection.
#
# By concern: main.tf (stages, build environment, permissions as locals), artifacts.tf (key and artifact bucket),
# build.tf (a CodeBuild project and role per stage), image.tf (the workers' ECR repository), pipeline.tf (CodePipeline and its role), source.tf (CodeCommit
# push events).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix

  name                  = "${var.name_prefix}-cicd"
  artifact_bucket       = "${local.name}-artifacts-${local.account_id}"
  artifact_arn          = "arn:${local.partition}:s3:::${local.artifact_bucket}"
  pipeline_arn          = "arn:${local.partition}:codepipeline:${local.region}:${local.account_id}:${local.name}"
  stages                = toset(["test", "image", "plan", "apply"])
  log_groups            = { for stage in local.stages : stage => "/aws/codebuild/${local.name}-${stage}" }
  log_group_arns        = { for stage, name in local.log_groups : stage => "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${name}" }
  project_arns          = { for stage in local.stages : stage => "arn:${local.partition}:codebuild:${local.region}:${local.account_id}:project/${local.name}-${stage}" }
  worker_repository     = "${local.name}-worker"
  worker_repository_arn = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${local.worker_repository}"
  worker_registry       = "${local.account_id}.dkr.ecr.${local.region}.${local.dns_suffix}"
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
    "access-analyzer", "apigateway", "application-autoscaling", "athena", "cloudfront", "cloudtrail", "cloudwatch", "cognito-idp", "dynamodb", "ecs", "events", "glue",
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
    # The image stage: the source, its logs, and pushing to the workers' repository (ECR's login token has no
    # resource to scope it to). Nothing of the stack.
    image = concat(local.build_basics["image"], [
      {
        Sid      = "RegistryLogin"
        Effect   = "Allow"
        Action   = ["ecr:GetAuthorizationToken"]
        Resource = ["*"]
      },
      {
        Sid    = "PushWorkerImages"
        Effect = "Allow"
        Action = [
          "ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload",
          "ecr:PutImage", "ecr:DescribeImages", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
        ]
        Resource = [local.worker_repository_arn]
      },
    ])
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
              # modules/workers: ECS and its service's Application Auto Scaling create their own roles on first use.
              "ecs.${local.dns_suffix}", "ecs.application-autoscaling.${local.dns_suffix}",
            ]
          }
        }
      },
    ], local.data_and_pipeline_guard)
  }

  build_environment = {
    test  = { IMGPIPE_ENV = var.environment, TERRAFORM_VERSION = var.terraform_version, TFLINT_VERSION = var.tflint_version }
    image = { IMGPIPE_ENV = var.environment, REPOSITORY_URI = "${local.worker_registry}/${local.worker_repository}" }
    # The workers' repository; the image itself (by digest) comes from the image stage (pipeline.tf).
    plan = merge(local.state_build_environment, { TF_VAR_worker_repository_arn = local.worker_repository_arn })
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
  build_timeout_minutes = { test = 90, image = 30, plan = 30, apply = 60 }
}
