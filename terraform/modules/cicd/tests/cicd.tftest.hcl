# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
      user_id    = "AIDATESTUSER"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
}

override_resource {
  target          = aws_kms_key.this
  override_during = plan
  values = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555"
    key_id = "99999999-8888-7777-6666-555555555555"
  }
}

override_resource {
  target          = aws_codepipeline.this
  override_during = plan
  values = {
    arn = "arn:aws:codepipeline:us-east-1:123456789012:imgpipe-prod-cicd"
  }
}

variables {
  name_prefix = "imgpipe-prod"
  environment = "prod"
  repository = {
    provider       = "CodeStarSourceConnection"
    id             = "example-org/imgpipe"
    connection_arn = "arn:aws:codeconnections:us-east-1:123456789012:connection/abcdef01-2345-6789-abcd-ef0123456789"
  }
  state = {
    bucket      = "imgpipe-prod-tfstate-123456789012-us-east-1"
    key         = "imgpipe/prod/terraform.tfstate"
    region      = "us-east-1"
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }
}

run "prod_waits_for_an_approval_between_plan_and_apply" {
  command = plan

  assert {
    condition     = [for s in aws_codepipeline.this.stage : s.name] == ["Source", "Test", "Plan", "Approve", "Apply"]
    error_message = "prod must run Source, Test, Plan, Approve, Apply in this order."
  }

  assert {
    condition = (
      aws_codepipeline.this.stage[3].action[0].category == "Approval" &&
      aws_codepipeline.this.stage[3].action[0].provider == "Manual" &&
      strcontains(aws_codepipeline.this.stage[3].action[0].configuration["CustomData"], "#{Plan.PLAN_HEADLINE}") &&
      strcontains(aws_codepipeline.this.stage[3].action[0].configuration["CustomData"], "#{Plan.PLAN_DATA_AT_RISK}")
    )
    error_message = "The approval must be manual and show the plan's headline and data-losing changes."
  }

  assert {
    condition     = aws_codepipeline.this.pipeline_type == "V2" && aws_codepipeline.this.execution_mode == "SUPERSEDED"
    error_message = "A V2 pipeline whose newer runs supersede one waiting for approval."
  }
}

run "prod_cannot_skip_the_approval" {
  command = plan

  variables {
    manual_approval = false
  }

  expect_failures = [var.manual_approval]
}

run "staging_may_run_without_an_approval" {
  command = plan

  variables {
    name_prefix     = "imgpipe-staging"
    environment     = "staging"
    manual_approval = false
    state = {
      bucket      = "imgpipe-staging-tfstate-123456789012-us-east-1"
      key         = "imgpipe/staging/terraform.tfstate"
      region      = "us-east-1"
      kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    }
  }

  assert {
    condition     = [for s in aws_codepipeline.this.stage : s.name] == ["Source", "Test", "Plan", "Apply"]
    error_message = "Without an approval, staging runs Source, Test, Plan, Apply."
  }
}

run "apply_consumes_the_saved_plan_artifact_and_nothing_else" {
  command = plan

  assert {
    condition = (
      tolist(aws_codepipeline.this.stage[2].action[0].output_artifacts) == tolist(["plan"]) &&
      tolist(aws_codepipeline.this.stage[4].action[0].input_artifacts) == tolist(["plan"]) &&
      aws_codepipeline.this.stage[4].action[0].configuration["ProjectName"] == "imgpipe-prod-cicd-apply"
    )
    error_message = "The apply stage must take only the plan stage's artifact."
  }

  assert {
    condition = alltrue([
      for stage in ["test", "plan", "apply"] :
      aws_codebuild_project.stage[stage].source[0].buildspec == "ci/buildspec-${stage}.yml"
    ])
    error_message = "Each stage runs its buildspec from the repository (ci/buildspec-<stage>.yml)."
  }

  assert {
    condition = (
      contains([for v in aws_codebuild_project.stage["apply"].environment[0].environment_variable : v.name], "AUTO_APPROVE") &&
      !contains([for v in aws_codebuild_project.stage["plan"].environment[0].environment_variable : v.name], "AUTO_APPROVE") &&
      !contains([for v in aws_codebuild_project.stage["test"].environment[0].environment_variable : v.name], "AUTO_APPROVE")
    )
    error_message = "Only the apply stage, behind the approval, runs `make apply` unattended."
  }

  assert {
    condition = alltrue([
      for stage in ["plan", "apply"] :
      contains([for v in aws_codebuild_project.stage[stage].environment[0].environment_variable : "${v.name}=${v.value}"], "TERRAFORM_VERSION=1.11.4")
    ])
    error_message = "Plan and apply install the same pinned Terraform."
  }
}

run "artifacts_are_encrypted_private_and_short_lived" {
  command = plan

  assert {
    condition = (
      one(aws_codepipeline.this.artifact_store).encryption_key[0].type == "KMS" &&
      one(aws_codepipeline.this.artifact_store).encryption_key[0].id == aws_kms_key.this.arn &&
      one(aws_s3_bucket_server_side_encryption_configuration.artifacts.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.this.arn &&
      aws_kms_key.this.enable_key_rotation
    )
    error_message = "Artifacts are encrypted with the pipeline's rotating key."
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].expiration[0].days == 14 &&
      aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].noncurrent_version_expiration[0].noncurrent_days == 1 &&
      aws_s3_bucket_lifecycle_configuration.artifacts.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 1
    )
    error_message = "Artifacts (saved plans included) expire after artifact_retention_days."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.artifacts.block_public_acls && aws_s3_bucket_public_access_block.artifacts.block_public_policy &&
      aws_s3_bucket_public_access_block.artifacts.ignore_public_acls && aws_s3_bucket_public_access_block.artifacts.restrict_public_buckets &&
      strcontains(aws_s3_bucket_policy.artifacts.policy, "aws:SecureTransport")
    )
    error_message = "The artifact bucket blocks public access and plain HTTP."
  }

  assert {
    condition     = alltrue([for g in aws_cloudwatch_log_group.build : g.kms_key_id == aws_kms_key.this.arn && g.retention_in_days == 365])
    error_message = "Build logs are encrypted and bounded."
  }
}

run "each_stage_role_reaches_only_what_its_stage_needs" {
  command = plan

  # The image stage: its logs, the source artifact, and pushing to the workers' repository alone.
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.build["image"].policy).Statement : s.Resource if s.Sid == "PushWorkerImages"] == [["arn:aws:ecr:us-east-1:123456789012:repository/imgpipe-prod-cicd-worker"]] && alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.build["image"].policy).Statement : [
        for a in s.Action : contains(["logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt"], a) || startswith(a, "ecr:")
      ]
    ])) && one([for s in jsondecode(aws_iam_role_policy.build["image"].policy).Statement : s.Action if s.Sid == "RegistryLogin"]) == ["ecr:GetAuthorizationToken"]
    error_message = "The image stage may push to the workers' repository and reach nothing else of AWS."
  }

  # The test stage: its logs, the source artifact, its report group. Nothing else in AWS.
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.build["test"].policy).Statement : [
        for a in s.Action : contains(["logs:CreateLogStream", "logs:PutLogEvents", "s3:GetObject", "s3:GetObjectVersion", "kms:Decrypt", "codebuild:CreateReport", "codebuild:UpdateReport", "codebuild:BatchPutTestCases"], a)
      ]
    ])) && length(jsondecode(aws_iam_role_policy.build["test"].policy).Statement) == 4
    error_message = "The test stage must reach nothing in AWS beyond its logs, artifacts and test reports."
  }

  # The plan stage reads (AWS's ReadOnlyAccess) and writes only the lock file, its output artifact and its logs.
  assert {
    condition = aws_iam_role_policy_attachment.plan_read_only.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess" && alltrue(flatten([
      for s in jsondecode(aws_iam_role_policy.build["plan"].policy).Statement : [
        for a in s.Action : s.Effect == "Deny" || can(regex("^(s3:(Get|List)|kms:Decrypt$|secretsmanager:GetSecretValue$|access-analyzer:(ValidatePolicy|CheckNoNewAccess)$)", a)) || alltrue([
          for r in try(s.Resource, ["not a Resource statement"]) : contains([
            "arn:aws:s3:::imgpipe-prod-tfstate-123456789012-us-east-1/imgpipe/prod/terraform.tfstate.tflock",
            "arn:aws:s3:::imgpipe-prod-cicd-artifacts-123456789012/*",
            "arn:aws:logs:us-east-1:123456789012:log-group:/aws/codebuild/imgpipe-prod-cicd-plan:*",
            "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555",
            "arn:aws:kms:us-east-1:123456789012:key/99999999-8888-7777-6666-555555555555",
          ], r)
        ])
      ]
    ]))
    error_message = "The plan role may write only the state's lock file, its artifact and its logs."
  }

  assert {
    condition = !anytrue([
      for s in jsondecode(aws_iam_role_policy.build["plan"].policy).Statement :
      s.Effect == "Allow" && contains(s.Action, "s3:PutObject") && contains(try(s.Resource, []), "arn:aws:s3:::imgpipe-prod-tfstate-123456789012-us-east-1/imgpipe/prod/terraform.tfstate")
    ])
    error_message = "The plan role must not write the state."
  }

  # The apply stage: IAM only on the stack's roles/policies; never the pipeline's own; data denied.
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.build["apply"].policy).Statement :
      s.Effect == "Deny" || !anytrue([for a in s.Action : startswith(a, "iam:") && !startswith(a, "iam:Get") && !startswith(a, "iam:List")]) || (
        s.Sid == "ServiceLinkedRoles" ? tolist(try(s.Resource, [])) == tolist(["arn:aws:iam::123456789012:role/aws-service-role/*"]) :
        tolist(try(s.Resource, [])) == tolist(["arn:aws:iam::123456789012:role/imgpipe-prod-*", "arn:aws:iam::123456789012:policy/imgpipe-prod-*"])
      )
    ])
    error_message = "The apply role may change IAM only on the stack's own roles and policies."
  }

  assert {
    condition = alltrue([
      for stage in ["plan", "apply"] : alltrue([
        for sid in ["NoObjectsButStateAndArtifacts", "NoItemsMessagesOrRecords", "NoSecretValuesButTheKeyRegistry", "StateAndArtifactBucketsStayAsBootstrapped", "NotThePipelineItself", "KeysOfStateAndArtifactsStay"] :
        contains([for s in jsondecode(aws_iam_role_policy.build[stage].policy).Statement : s.Sid if s.Effect == "Deny"], sid)
      ])
    ])
    error_message = "Plan and apply carry every explicit deny on data, state and the pipeline."
  }

  assert {
    condition = contains(
      one([for s in jsondecode(aws_iam_role_policy.build["apply"].policy).Statement : s if s.Sid == "NotThePipelineItself"]).Resource,
      "arn:aws:iam::123456789012:role/imgpipe-prod-cicd-*"
    )
    error_message = "The apply role cannot change the pipeline's own roles (its IAM grant would otherwise cover them)."
  }

  assert {
    condition = alltrue([
      for stage, role in aws_iam_role.build :
      jsondecode(role.assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:codebuild:us-east-1:123456789012:project/imgpipe-prod-cicd-${stage}"
    ])
    error_message = "Each stage role is assumable only by its own CodeBuild project."
  }
}

run "codecommit_source_starts_on_a_push" {
  command = plan

  variables {
    repository = {
      provider = "CodeCommit"
      id       = "imgpipe"
      branch   = "release"
    }
  }

  assert {
    condition = (
      aws_codepipeline.this.stage[0].action[0].provider == "CodeCommit" &&
      aws_codepipeline.this.stage[0].action[0].configuration["RepositoryName"] == "imgpipe" &&
      aws_codepipeline.this.stage[0].action[0].configuration["PollForSourceChanges"] == "false" &&
      jsondecode(aws_cloudwatch_event_rule.push[0].event_pattern).detail.referenceName == ["release"]
    )
    error_message = "A CodeCommit source is read by name and started by a push rule on its branch."
  }
}

run "a_connection_source_needs_its_arn" {
  command = plan

  variables {
    repository = {
      provider = "CodeStarSourceConnection"
      id       = "example-org/imgpipe"
    }
  }

  expect_failures = [var.repository]
}

run "plan_and_apply_use_the_environments_state" {
  command = plan

  assert {
    condition = alltrue([
      for stage in ["plan", "apply"] : (
        output.build_variables[stage].TF_STATE_BUCKET == "imgpipe-prod-tfstate-123456789012-us-east-1" &&
        output.build_variables[stage].TF_STATE_KEY == "imgpipe/prod/terraform.tfstate" &&
        output.build_variables[stage].TF_STATE_REGION == "us-east-1" &&
        output.build_variables[stage].TF_STATE_KMS_KEY_ID == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555" &&
        output.build_variables[stage].IMGPIPE_ENV == "prod"
      )
    ]) && !contains(keys(output.build_variables["test"]), "TF_STATE_BUCKET")
    error_message = "Plan and apply name the environment's state (scripts/deploy/tf.py reads TF_STATE_*); the test stage has none."
  }
}

run "the_image_stage_builds_the_workers_image_beside_the_tests_and_hands_its_digest_to_the_plan" {
  command = plan

  assert {
    condition = (
      [for a in aws_codepipeline.this.stage[1].action : a.name] == ["LintAndTest", "BuildWorkerImage"] &&
      aws_codepipeline.this.stage[1].action[1].namespace == "Image" &&
      aws_codepipeline.this.stage[1].action[1].configuration["ProjectName"] == "imgpipe-prod-cicd-image" &&
      jsondecode(aws_codepipeline.this.stage[2].action[0].configuration["EnvironmentVariables"]) == [
        { name = "TF_VAR_worker_image", value = "#{Image.WORKER_IMAGE}", type = "PLAINTEXT" }
      ]
    )
    error_message = "The image is built beside the tests and the plan stage gets its digest."
  }

  assert {
    condition = (
      aws_codebuild_project.stage["image"].environment[0].type == "ARM_CONTAINER" &&
      aws_codebuild_project.stage["image"].environment[0].privileged_mode &&
      alltrue([for s in ["test", "plan", "apply"] : !aws_codebuild_project.stage[s].environment[0].privileged_mode])
    )
    error_message = "Only the image stage is privileged (Docker), on an arm64 host."
  }

  assert {
    condition = (
      aws_ecr_repository.worker.image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.worker.image_scanning_configuration[0].scan_on_push &&
      aws_ecr_repository.worker.encryption_configuration[0].encryption_type == "KMS" &&
      [for r in jsondecode(aws_ecr_lifecycle_policy.worker.policy).rules : r.selection.countNumber] == [1, 30]
    )
    error_message = "The repository's tags never move, images are scanned on push and encrypted, and only the newest 30 are kept."
  }

  assert {
    condition     = contains([for v in aws_codebuild_project.stage["plan"].environment[0].environment_variable : "${v.name}=${v.value}"], "TF_VAR_worker_repository_arn=arn:aws:ecr:us-east-1:123456789012:repository/imgpipe-prod-cicd-worker")
    error_message = "The plan stage tells the environment which repository its workers pull from."
  }
}
