# Every service the stack uses (now or in later modules) points at the local AWS emulator (moto server by
# default; LocalStack or any other emulator by changing endpoint_url). Credentials are NOT set here: they come
# from the environment (the Makefile exports AWS_ACCESS_KEY_ID=test / AWS_SECRET_ACCESS_KEY=test for local).
provider "aws" {
  region = var.region

  s3_use_path_style           = true # emulator buckets are addressed as http://host:port/<bucket>
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  # Must stay false with an sts endpoint below: the provider then learns the emulator's account id and every
  # ARN it builds carries it (with true, ARNs lack the account id and the second plan is never clean).
  skip_requesting_account_id = false
  # moto answers unimplemented calls with 500s, and the default 25 retries would stall an apply for many minutes;
  # but a loaded machine makes the SDK drop a slow moto response now and then ("use of closed network
  # connection"), and with 1 attempt that fails the whole apply. 3 keeps both bounded.
  max_retries = 3

  endpoints {
    apigateway     = var.endpoint_url
    apigatewayv2   = var.endpoint_url
    appautoscaling = var.endpoint_url
    athena         = var.endpoint_url
    cloudtrail     = var.endpoint_url
    cloudwatch     = var.endpoint_url
    codepipeline   = var.endpoint_url
    cognitoidp     = var.endpoint_url
    dynamodb       = var.endpoint_url
    ec2            = var.endpoint_url
    ecr            = var.endpoint_url
    ecs            = var.endpoint_url
    events         = var.endpoint_url
    glue           = var.endpoint_url
    guardduty      = var.endpoint_url
    iam            = var.endpoint_url
    kafka          = var.endpoint_url
    kms            = var.endpoint_url
    lambda         = var.endpoint_url
    logs           = var.endpoint_url
    quicksight     = var.endpoint_url
    s3             = var.endpoint_url
    scheduler      = var.endpoint_url
    secretsmanager = var.endpoint_url
    sns            = var.endpoint_url
    sqs            = var.endpoint_url
    ssm            = var.endpoint_url
    sts            = var.endpoint_url
    wafv2          = var.endpoint_url
    xray           = var.endpoint_url
  }

  default_tags {
    tags = {
      project     = var.project
      environment = var.environment
      managed-by  = "terraform"
    }
  }
}
