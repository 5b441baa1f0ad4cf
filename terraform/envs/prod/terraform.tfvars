project             = "imgpipe"
environment         = "prod"
region              = "us-east-1"
retention_days      = 7
lambda_architecture = "arm64"

# Fill in the account id(s) of the prod account to make applying with the wrong credentials fail early.
allowed_account_ids = []

# API Gateway stage logging needs an account-wide CloudWatch role (one per account and region). true here
# assumes this environment has its own account; set false where a landing zone or another stack manages it.
manage_apigateway_account_logging_role = true

# Who is emailed when an alarm fires (each address confirms once). Empty: alarms show in the console only.
alarm_emails = []

# The data perimeter (docs/security.md): nobody of the account but the pipeline's roles reaches image objects or
# uses the key. Name the incident-response role that may (null: none), and the roles that deploy: by default only
# this environment's CodePipeline plan/apply roles may create what the key encrypts; add yours to deploy by hand.
break_glass_role_arn = null
deployer_role_arns   = null
