project             = "imgpipe"
environment         = "staging"
region              = "us-east-1"
retention_days      = 7
lambda_architecture = "arm64"

# Fill in the account id(s) of the staging account to make applying with the wrong credentials fail early.
allowed_account_ids = []
