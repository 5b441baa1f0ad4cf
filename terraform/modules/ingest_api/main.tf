# The authenticated HTTP ingestion API: API Gateway (REST, regional) -> Lambda REQUEST authorizer (hashed key
# registry in Secrets Manager) -> upload_api (presigned POST / direct PUT uploads, image reads). Optional WAFv2 in
# front. Every log group is CMK-encrypted and keeps at most retention_days; bodies and keys are never logged.
#
# By concern: main.tf (names, log groups), functions.tf (upload_api and the authorizer as module "function",
# idempotency records), iam.tf (the functions' statements, the account's API Gateway logging role), api.tf (REST
# API, routes, stage), auth.tf (key registry, authorizer), waf.tf (web ACL), domain.tf (custom domain).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  dns_suffix = data.aws_partition.current.dns_suffix
  api_name   = "${var.name_prefix}-api"

  # The lambdas/ folder names; also the keys of var.functions and of every per-function map below.
  function_keys  = ["upload_api", "api_authorizer"]
  function_names = { for k in local.function_keys : k => "${var.name_prefix}-${k}" }

  # CloudWatch Logs only accepts fixed retention values; the ones <= 7 days are 1, 3, 5 and 7. Take the largest
  # that does not exceed retention_days, so no log line outlives the data it describes.
  log_retention_days = max([for d in [1, 3, 5, 7] : d if d <= var.retention_days]...)

  # Every log group of the module, created here (not implicitly by the services) so each is KMS-encrypted and
  # expires. "execution" is the group API Gateway writes execution logs to; its name is fixed by AWS
  # (API-Gateway-Execution-Logs_<api id>/<stage>) and would otherwise be auto-created unencrypted, kept forever.
  # WAF requires its log group name to start with "aws-waf-logs-".
  # The functions' own log groups are module.function's.
  log_groups = merge(
    {
      access    = "/aws/apigateway/${local.api_name}/${var.stage_name}/access"
      execution = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"
    },
    var.waf_enabled ? { waf = "aws-waf-logs-${local.api_name}" } : {},
  )
}

################################################################################
# Log groups (CMK-encrypted, retention <= retention_days)
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  for_each = local.log_groups

  #checkov:skip=CKV_AWS_338:Logs describe image-derived data, which is never kept longer than 7 days (retention_days); one year of retention would break that rule.
  name              = each.value
  retention_in_days = local.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = merge(var.tags, { Name = each.value })
}
