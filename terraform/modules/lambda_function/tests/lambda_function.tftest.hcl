# Plan-only tests with a mocked AWS provider: offline, no credentials, seconds.

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
      user_id    = "AIDATESTUSER"
    }
  }

  mock_data "aws_region" {
    defaults = {
      name = "us-east-1"
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition  = "aws"
      dns_suffix = "amazonaws.com"
    }
  }
}

override_resource {
  target          = aws_lambda_function.this
  override_during = plan
  values = {
    arn     = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-thing"
    version = "3"
  }
}

variables {
  name               = "imgpipe-test-thing"
  description        = "imgpipe-test: does one thing"
  kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  log_retention_days = 7
  package = {
    filename         = "dist/lambda/thing.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  policy_statements = [
    {
      Sid      = "ReadOneTable"
      Effect   = "Allow"
      Action   = ["dynamodb:GetItem"]
      Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-things"
    },
  ]
}

run "secure_defaults" {
  command = plan

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/lambda/imgpipe-test-thing" && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    error_message = "The log group must be the function's and be encrypted with the caller's CMK."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 7 && output.log_retention_days == 7
    error_message = "The log group must keep lines exactly log_retention_days when CloudWatch accepts that value."
  }

  assert {
    condition     = aws_lambda_function.this.tracing_config[0].mode == "Active"
    error_message = "X-Ray tracing must default to Active."
  }

  assert {
    condition     = aws_lambda_function.this.kms_key_arn == var.kms_key_arn
    error_message = "The function's environment must be encrypted with the caller's CMK."
  }

  assert {
    condition = (
      aws_lambda_function.this.architectures == tolist(["arm64"]) && aws_lambda_function.this.runtime == "python3.12" &&
      aws_lambda_function.this.handler == "handler.handler" && aws_lambda_function.this.reserved_concurrent_executions == -1
    )
    error_message = "Defaults: arm64, python3.12, handler.handler, unreserved (-1, never 0)."
  }

  assert {
    condition     = aws_lambda_function.this.publish && aws_lambda_alias.live.name == "live" && aws_lambda_alias.live.function_version == "3" && aws_lambda_alias.live.function_version == aws_lambda_function.this.version
    error_message = "Every apply that changes the code must publish a version, and the alias named live must point to it."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
        Effect = "Allow", Principal = { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole"
      }] && aws_iam_role.this.name == "imgpipe-test-thing" && aws_iam_role_policy.this.role == "imgpipe-test-thing"
    )
    error_message = "The role must be assumable by lambda.amazonaws.com only, and carry the function's policy."
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Sid] == ["ReadOneTable", "WriteOwnLogs", "WriteTraces"]
    error_message = "The policy must be the caller's statements, then WriteOwnLogs and WriteTraces."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource if s.Sid == "WriteOwnLogs"
    ]) == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/imgpipe-test-thing:*"
    error_message = "The function may write to its own log group only."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s.Resource != "*" if s.Sid != "WriteTraces"
    ])
    error_message = "Only X-Ray (which has no resource-level permissions) may name Resource \"*\"."
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.errors) == 0 && length(aws_cloudwatch_metric_alarm.throttles) == 0 && length(aws_cloudwatch_metric_alarm.duration_p99) == 0
    error_message = "No alarm unless the caller asks for it."
  }

  assert {
    condition     = output.alias_name == "live" && output.role_name == "imgpipe-test-thing" && output.log_group_name == "/aws/lambda/imgpipe-test-thing" && output.function_version == "3"
    error_message = "Outputs must name the alias, the role, the log group and the published version."
  }
}

run "function_tags_cannot_be_replaced_by_caller_tags" {
  command = plan

  variables {
    tags          = { team = "media", "imgpipe:function" = "spoofed" }
    function_tags = { "imgpipe:function" = "thing" }
  }

  assert {
    condition     = aws_lambda_function.this.tags["imgpipe:function"] == "thing" && aws_lambda_function.this.tags["team"] == "media" && aws_lambda_function.this.tags["Name"] == "imgpipe-test-thing"
    error_message = "function_tags are applied last; caller tags and Name are added."
  }
}

run "retention_rounds_down_to_a_cloudwatch_value" {
  command = plan

  variables {
    log_retention_days = 6
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 5
    error_message = "6 days is not a CloudWatch retention: the log group must keep the largest value below it (5)."
  }
}

run "retention_must_be_bounded" {
  command = plan

  variables {
    log_retention_days = 0
  }

  expect_failures = [var.log_retention_days]
}

run "timeout_memory_and_architecture_are_validated" {
  command = plan

  variables {
    timeout      = 901
    memory_size  = 64
    architecture = "arm"
  }

  expect_failures = [var.timeout, var.memory_size, var.architecture]
}

run "kms_key_is_required_as_an_arn" {
  command = plan

  variables {
    kms_key_arn = "alias/aws/lambda"
  }

  expect_failures = [var.kms_key_arn]
}

run "wildcards_on_data_resources_are_refused" {
  command = plan

  variables {
    policy_statements = [
      { Sid = "ReadEverything", Effect = "Allow", Action = ["s3:GetObject"], Resource = "*" },
    ]
  }

  expect_failures = [var.policy_statements]
}

run "wildcard_actions_are_refused" {
  command = plan

  variables {
    policy_statements = [
      { Sid = "AllOfDynamo", Effect = "Allow", Action = ["dynamodb:*"], Resource = "arn:aws:dynamodb:us-east-1:123456789012:table/t" },
    ]
  }

  expect_failures = [var.policy_statements]
}

run "network_interface_calls_may_name_any_resource" {
  command = plan

  variables {
    policy_statements = [
      { Sid = "PlaceNetworkInterfaces", Effect = "Allow", Action = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces"], Resource = "*" },
    ]
  }

  assert {
    condition     = length(jsondecode(aws_iam_role_policy.this.policy).Statement) == 3
    error_message = "EC2 network-interface calls take no resource-level scoping: \"*\" is allowed for them."
  }
}

run "alarms_exist_when_enabled" {
  command = plan

  variables {
    timeout = 60
    alarms = {
      actions      = ["arn:aws:sns:us-east-1:123456789012:imgpipe-test-alarms"]
      errors       = { period_seconds = 3600, description = "the thing failed" }
      throttles    = {}
      duration_p99 = { fraction_of_timeout = 0.5 }
    }
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.errors[0].alarm_name == "imgpipe-test-thing-errors" &&
      aws_cloudwatch_metric_alarm.errors[0].dimensions.FunctionName == "imgpipe-test-thing" &&
      aws_cloudwatch_metric_alarm.errors[0].period == 3600 && aws_cloudwatch_metric_alarm.errors[0].threshold == 0 &&
      aws_cloudwatch_metric_alarm.errors[0].alarm_description == "the thing failed"
    )
    error_message = "The errors alarm must watch the function with the caller's period and description."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.throttles[0].metric_name == "Throttles" && aws_cloudwatch_metric_alarm.throttles[0].threshold == 0 &&
      aws_cloudwatch_metric_alarm.duration_p99[0].extended_statistic == "p99" && aws_cloudwatch_metric_alarm.duration_p99[0].threshold == 30000
    )
    error_message = "Throttles above 0, and p99 duration above the given share of the timeout (0.5 x 60 s = 30000 ms)."
  }

  assert {
    condition = alltrue([
      for a in [aws_cloudwatch_metric_alarm.errors[0], aws_cloudwatch_metric_alarm.throttles[0], aws_cloudwatch_metric_alarm.duration_p99[0]] :
      a.alarm_actions == toset(var.alarms.actions) && a.ok_actions == toset(var.alarms.actions)
    ])
    error_message = "Every alarm must notify alarms.actions on ALARM and OK."
  }

  assert {
    condition     = keys(output.alarm_names) == ["duration_p99", "errors", "throttles"]
    error_message = "alarm_names must name each alarm created."
  }
}
