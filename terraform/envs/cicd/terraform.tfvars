project = "imgpipe"
region  = "us-east-1"

# Fill in the account id(s) to make applying with the wrong credentials fail early.
allowed_account_ids = []

# A CodeConnections connection to your Git host (create it once in the console: Developer Tools > Connections,
# then authorise it), and the repository it reads.
repository = {
  provider       = "CodeStarSourceConnection"
  id             = "CHANGE-ME-owner/imgpipe"
  branch         = "main"
  connection_arn = "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
}

# What `make bootstrap ENV=staging` and `make bootstrap ENV=prod` printed (their backend.hcl).
environments = {
  staging = {
    manual_approval = false # every merge to main reaches staging
    state = {
      bucket      = "imgpipe-staging-tfstate-111111111111-us-east-1"
      key         = "imgpipe/staging/terraform.tfstate"
      region      = "us-east-1"
      kms_key_arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
    }
  }
  prod = {
    state = {
      bucket      = "imgpipe-prod-tfstate-111111111111-us-east-1"
      key         = "imgpipe/prod/terraform.tfstate"
      region      = "us-east-1"
      kms_key_arn = "arn:aws:kms:us-east-1:111111111111:key/00000000-0000-0000-0000-000000000000"
    }
  }
}
