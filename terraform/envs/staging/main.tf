# Secure module defaults apply unchanged: 30-day key deletion window, enforcing bucket policies, no
# force_destroy, table deletion protection, DLQ redrive-allow policy (tests/staging.tftest.hcl asserts them).
module "pipeline" {
  source = "../../modules/pipeline"

  name_prefix         = "${var.project}-${var.environment}"
  retention_days      = var.retention_days
  lambda_architecture = var.lambda_architecture
  lambda_dist_dir     = coalesce(var.lambda_dist_dir, "${path.root}/../../../dist/lambda")

  # Who processes images; the workers' image comes from the pipeline's build stage (docs/processing.md).
  processing_mode        = var.processing_mode
  large_image_min_bytes  = var.large_image_min_bytes
  large_image_min_pixels = var.large_image_min_pixels
  workers                = var.workers
  worker_image           = var.worker_image
  worker_repository_arn  = var.worker_repository_arn

  manage_apigateway_account_logging_role = var.manage_apigateway_account_logging_role
  observability                          = { alarm_emails = var.alarm_emails }
  perimeter = {
    break_glass_role_arn = var.break_glass_role_arn
    deployer_role_arns   = var.deployer_role_arns
  }
  # The web app on CloudFront; its users sign in on the pool's hosted UI (modules/web).
  web_app = { enabled = true }
}
