# Shared mocked AWS provider for the plan-only suites of modules/pipeline and envs/* (one copy instead of one per
# test file). Use it with
#   mock_provider "aws" {
#     source          = "../../testing/aws" # relative to the directory terraform test runs in
#     override_during = plan                # computed values (ARNs, URLs) known in the plan
#   }
# Values not set here are generated (random strings) by the mock. The kms/storage/metadata module suites keep
# their own inline mocks: they test a module on its own, without this directory.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:role/deploy"
    user_id    = "AROATESTROLE"
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

# A real-shaped key ARN: storage and metadata validate that they get a key ARN (not an alias or id), and the
# suites assert that every store is encrypted with exactly this key.
mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    key_id = "11111111-2222-3333-4444-555555555555"
  }
}

# Generic values for the computed attributes the env output `pipeline` exports, so that it is fully known in a
# plan. Both queues get the same values here; suites that need them apart override the resources by address.
mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:us-east-1:123456789012:mocked-queue"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/mocked-queue"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn        = "arn:aws:dynamodb:us-east-1:123456789012:table/mocked-table"
    stream_arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mocked-table/stream/2026-01-01T00:00:00.000"
  }
}

# A real-shaped user pool id (<region>_<id>): the API validates that it gets a Cognito issuer.
mock_resource "aws_cognito_user_pool" {
  defaults = {
    id  = "us-east-1_AbC123xyz"
    arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbC123xyz"
  }
}

mock_resource "aws_cognito_user_pool_client" {
  defaults = {
    id = "4pq0example1client2id3"
  }
}
