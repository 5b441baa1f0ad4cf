terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 6.0"
    }
  }

  # Partial configuration: bucket, key and region come from backend.hcl (copy backend.hcl.example):
  #   terraform init -backend-config=backend.hcl
  # encrypt and use_lockfile (S3-native state locking, Terraform >= 1.10, no DynamoDB lock table) are fixed
  # here so that no init can turn them off.
  backend "s3" {
    encrypt      = true
    use_lockfile = true
  }
}
