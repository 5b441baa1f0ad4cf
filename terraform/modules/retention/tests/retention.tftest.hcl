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
  target          = aws_cloudwatch_event_rule.schedule
  override_during = plan
  values = {
    arn = "arn:aws:events:us-east-1:123456789012:rule/imgpipe-test-retention_audit"
  }
}

override_resource {
  target          = module.function.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-retention_audit"
  }
}

override_resource {
  target          = module.function.aws_lambda_alias.live
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-retention_audit:live"
  }
}

variables {
  name_prefix           = "imgpipe-test"
  kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  raw_bucket_name       = "imgpipe-test-raw-123456789012"
  processed_bucket_name = "imgpipe-test-processed-123456789012"
  table_name            = "imgpipe-test-images"
  table_arn             = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images"
  function = {
    filename         = "dist/lambda/retention_audit.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
}

run "the_audit_runs_hourly_on_the_wall_clock_and_bounds_every_image_bucket" {
  command = plan

  assert {
    condition = (
      aws_cloudwatch_event_rule.schedule.schedule_expression == "rate(60 minutes)" &&
      aws_cloudwatch_event_target.audit.arn == module.function.lambda_alias.arn &&
      module.function.lambda_function.publish && module.function.lambda_alias.function_version == module.function.lambda_function.version &&
      aws_lambda_permission.schedule.qualifier == "live" &&
      aws_lambda_permission.schedule.principal == "events.amazonaws.com" &&
      aws_lambda_permission.schedule.source_arn == aws_cloudwatch_event_rule.schedule.arn
    )
    error_message = "Only the schedule's rule may invoke the audit, every 60 minutes by default."
  }

  assert {
    condition = (
      module.function.lambda_function.environment[0].variables.TRUST_EVENT_TIME == "false" &&
      module.function.lambda_function.environment[0].variables.RETENTION_DAYS == "7" &&
      module.function.lambda_function.environment[0].variables.GRACE_HOURS == "48" &&
      module.function.lambda_function.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_RESPONSE == "false"
    )
    error_message = "By default the audit's clock is the wall clock (no time travel on AWS), window 7 days, grace 48 h."
  }

  assert {
    condition     = output.audited_buckets == tolist(["imgpipe-test-raw-123456789012", "imgpipe-test-processed-123456789012"])
    error_message = "Raw and processed buckets must both be audited."
  }

  assert {
    condition = (
      module.function.lambda_function.reserved_concurrent_executions == 1 &&
      module.function.lambda_function.tracing_config[0].mode == "Active" &&
      module.function.lambda_function.kms_key_arn == var.kms_key_arn &&
      module.function.log_group.kms_key_id == var.kms_key_arn &&
      module.function.log_group.retention_in_days <= var.retention_days
    )
    error_message = "One audit at a time, traced, CMK-encrypted, its own logs bounded by the retention."
  }
}

run "permissions_are_scoped_to_the_image_buckets_and_the_table" {
  command = plan

  variables {
    extra_bucket_names = ["imgpipe-test-analytics-123456789012"]
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "PurgeImageObjectVersions"
      ]) == [
      "arn:aws:s3:::imgpipe-test-raw-123456789012/*",
      "arn:aws:s3:::imgpipe-test-processed-123456789012/*",
      "arn:aws:s3:::imgpipe-test-analytics-123456789012/*",
    ]
    error_message = "Deletes only in the audited buckets (extra buckets included)."
  }

  assert {
    condition = (
      one([for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "FindExpiredItemsByDay"]) == "${var.table_arn}/index/by_day" &&
      one([for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Action if s.Sid == "DeleteExpiredItems"]) == ["dynamodb:DeleteItem"]
    )
    error_message = "The table: query the by_day index and delete items, nothing else (no Scan, no writes)."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement :
      alltrue([for a in flatten([s.Action]) : !endswith(a, "*")]) && (s.Resource != "*" || s.Sid == "WriteTraces")
    ])
    error_message = "No wildcard actions; only X-Ray may use Resource \"*\"."
  }
}

run "violations_alarm_on_any_violation_and_on_a_missing_report" {
  command = plan

  variables {
    schedule_interval_minutes = 1440
    alarm_actions             = ["arn:aws:sns:us-east-1:123456789012:imgpipe-alarms"]
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.violations.metric_name == "RetentionViolations" &&
      aws_cloudwatch_metric_alarm.violations.namespace == "imgpipe" &&
      aws_cloudwatch_metric_alarm.violations.threshold == 0 &&
      aws_cloudwatch_metric_alarm.violations.comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.violations.treat_missing_data == "breaching" &&
      aws_cloudwatch_metric_alarm.violations.period == 86400 &&
      aws_cloudwatch_metric_alarm.violations.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:imgpipe-alarms"])
    )
    error_message = "Any violation, or no report for the audit's interval, must alarm."
  }

  assert {
    condition     = aws_cloudwatch_event_rule.schedule.schedule_expression == "rate(1440 minutes)"
    error_message = "The interval drives the schedule."
  }
}

run "a_window_over_seven_days_is_refused" {
  command = plan

  variables {
    retention_days = 8
  }

  expect_failures = [var.retention_days]
}
