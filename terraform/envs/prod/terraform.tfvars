project             = "imgpipe"
environment         = "prod"
region              = "us-east-1"
retention_days      = 7
lambda_architecture = "arm64"

# Fill in the account id(s) of the prod account to make applying with the wrong credentials fail early.
allowed_account_ids = []
