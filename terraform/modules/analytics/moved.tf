# The function's resources moved into module "function" (../lambda_function): the same objects, not new ones.

moved {
  from = aws_cloudwatch_log_group.export
  to   = module.function.aws_cloudwatch_log_group.this
}

moved {
  from = aws_iam_role.export
  to   = module.function.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy.export
  to   = module.function.aws_iam_role_policy.this
}

moved {
  from = aws_lambda_function.export
  to   = module.function.aws_lambda_function.this
}

moved {
  from = aws_lambda_alias.live
  to   = module.function.aws_lambda_alias.live
}
