# The function's resources moved into module "function" (../lambda_function): the same objects, not new ones.

moved {
  from = aws_cloudwatch_log_group.this
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.this
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.this
  to   = module.function.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.this
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_lambda_alias.live
  to   = module.function.aws_lambda_alias.live
}

moved {
  from = aws_cloudwatch_metric_alarm.errors
  to   = module.function.aws_cloudwatch_metric_alarm.errors[0]
}
