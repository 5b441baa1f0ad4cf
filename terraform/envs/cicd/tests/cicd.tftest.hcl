# The pipelines as terraform.tfvars configures them, asserted offline with the shared mocked AWS provider.
# The module's own properties (roles, artifacts, buildspecs) are asserted in modules/cicd/tests.

mock_provider "aws" {
  source          = "../../testing/aws"
  override_during = plan
}

run "staging_deploys_every_merge_and_prod_waits_for_a_person" {
  command = plan

  assert {
    condition     = output.pipelines["staging"].stages == ["Source", "Test", "Plan", "Apply"]
    error_message = "staging goes from plan to apply without an approval (as terraform.tfvars says)."
  }

  assert {
    condition     = output.pipelines["prod"].stages == ["Source", "Test", "Plan", "Approve", "Apply"]
    error_message = "prod waits for an approval between plan and apply."
  }

  assert {
    condition     = output.pipelines["prod"].pipeline_name == "imgpipe-prod-cicd" && output.pipelines["staging"].artifact_bucket_name == "imgpipe-staging-cicd-artifacts-123456789012"
    error_message = "Pipelines are named <project>-<env>-cicd, apart from the stacks they deploy."
  }
}

run "each_pipeline_plans_against_its_own_state" {
  command = plan

  assert {
    condition = alltrue(flatten([
      for env in ["staging", "prod"] : [
        for stage in ["plan", "apply"] :
        module.cicd[env].build_variables[stage].TF_STATE_KEY == "imgpipe/${env}/terraform.tfstate" &&
        module.cicd[env].build_variables[stage].IMGPIPE_ENV == env
      ]
    ]))
    error_message = "Each pipeline reads and locks its own environment's state."
  }
}
