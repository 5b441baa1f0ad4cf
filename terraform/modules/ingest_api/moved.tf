# Both functions' resources moved into module "function" (../lambda_function), one instance per function: the
# same objects, not new ones. The API's own log groups (access, execution, waf) stay in aws_cloudwatch_log_group.this.

moved {
  from = aws_cloudwatch_log_group.this["upload_api"]
  to   = module.function["upload_api"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.function["upload_api"]
  to   = module.function["upload_api"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["upload_api"]
  to   = module.function["upload_api"].aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.this["upload_api"]
  to   = module.function["upload_api"].aws_lambda_function.this
}

moved {
  from = aws_lambda_alias.live["upload_api"]
  to   = module.function["upload_api"].aws_lambda_alias.live
}

moved {
  from = aws_cloudwatch_log_group.this["api_authorizer"]
  to   = module.function["api_authorizer"].aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.function["api_authorizer"]
  to   = module.function["api_authorizer"].aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.function["api_authorizer"]
  to   = module.function["api_authorizer"].aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.this["api_authorizer"]
  to   = module.function["api_authorizer"].aws_lambda_function.this
}

moved {
  from = aws_lambda_alias.live["api_authorizer"]
  to   = module.function["api_authorizer"].aws_lambda_alias.live
}
