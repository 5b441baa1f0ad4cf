# The staging configuration, asserted offline with the shared mocked AWS provider (terraform/testing/aws).
# Run after `terraform init -backend=false`: terraform test keeps its state in memory and ignores the backend.
# The wiring, the defaults and the validation of the inputs are asserted once, in modules/pipeline/tests.

mock_provider "aws" {
  source          = "../../testing/aws"
  override_during = plan
}

variables {
  lambda_dist_dir = "../../testing/lambda" # fixture manifest of `make package` output (arm64)
}

run "staging_keeps_secure_defaults" {
  command = plan

  assert {
    condition     = output.pipeline.name_prefix == "imgpipe-staging" && output.pipeline.raw_bucket_name == "imgpipe-staging-raw-123456789012"
    error_message = "Staging names must be imgpipe-staging-*."
  }

  assert {
    condition     = output.pipeline.bucket_policies_enforced == { raw = true, processed = true, analytics = true, "athena-results" = true, trail = true } && output.pipeline.force_destroy == false
    error_message = "Staging buckets must keep the enforcing bucket policies and must not be force-destroyable."
  }

  assert {
    condition     = output.pipeline.deletion_protection_enabled && output.pipeline.kms_deletion_window_in_days == 30
    error_message = "Staging keeps table deletion protection and the 30-day key deletion window."
  }

  assert {
    condition     = output.pipeline.dlq_redrive_allow_policy_enabled
    error_message = "Only the raw-events queue may use the staging DLQ."
  }

  assert {
    condition     = output.pipeline.object_expiration_days == { raw = 7, processed = 7, analytics = 7, "athena-results" = 7, trail = 7 } && output.pipeline.pitr_recovery_period_in_days == 7
    error_message = "Staging retention must be 7 days everywhere."
  }
}

run "the_pipelines_image_reaches_the_workers_of_a_split_deployment" {
  command = plan

  variables {
    processing_mode       = "split"
    worker_image          = "123456789012.dkr.ecr.us-east-1.amazonaws.com/imgpipe-staging-cicd-worker@sha256:abababababababababababababababababababababababababababababababab"
    worker_repository_arn = "arn:aws:ecr:us-east-1:123456789012:repository/imgpipe-staging-cicd-worker"
    workers = {
      vpc_id          = "vpc-0123"
      subnet_ids      = ["subnet-a", "subnet-b"]
      route_table_ids = ["rtb-a"]
    }
  }

  assert {
    condition     = output.pipeline.processing.workers.image == var.worker_image
    error_message = "The workers run the image the pipeline's image stage built, by digest."
  }
}
