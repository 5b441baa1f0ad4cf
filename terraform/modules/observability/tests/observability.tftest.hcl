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
  target          = aws_sns_topic.alarms
  override_during = plan
  values = {
    arn = "arn:aws:sns:us-east-1:123456789012:imgpipe-test-alarms"
  }
}

variables {
  name_prefix = "imgpipe-test"
  kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  functions = {
    upload_api      = { name = "imgpipe-test-upload_api", timeout_seconds = 29 }
    image_processor = { name = "imgpipe-test-image_processor", timeout_seconds = 60, own_errors_alarm = true }
    retention_audit = { name = "imgpipe-test-retention_audit", timeout_seconds = 900, own_errors_alarm = true }
  }
  api         = { name = "imgpipe-test-api", stage = "v1" }
  queue_names = ["imgpipe-test-raw-events", "imgpipe-test-raw-events-dlq"]
}

run "every_function_has_its_alarms_and_all_notify_the_encrypted_topic" {
  command = plan

  assert {
    condition = (
      toset(keys(aws_cloudwatch_metric_alarm.throttles)) == toset(keys(var.functions)) &&
      toset(keys(aws_cloudwatch_metric_alarm.duration_p99)) == toset(keys(var.functions)) &&
      toset(keys(aws_cloudwatch_metric_alarm.errors)) == toset(["upload_api"])
    )
    error_message = "Every function gets throttles and p99-duration alarms; errors alarms except where the module has its own."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.duration_p99["upload_api"].threshold == 23200 &&
      aws_cloudwatch_metric_alarm.duration_p99["retention_audit"].threshold == 720000 &&
      aws_cloudwatch_metric_alarm.duration_p99["upload_api"].extended_statistic == "p99" &&
      aws_cloudwatch_metric_alarm.errors["upload_api"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.throttles["image_processor"].dimensions.FunctionName == "imgpipe-test-image_processor"
    )
    error_message = "p99 duration alarms at 80% of each timeout; any error or throttle alarms, per function."
  }

  assert {
    condition = alltrue([
      for a in concat(values(aws_cloudwatch_metric_alarm.errors), values(aws_cloudwatch_metric_alarm.throttles), values(aws_cloudwatch_metric_alarm.duration_p99), aws_cloudwatch_metric_alarm.api_5xx, aws_cloudwatch_metric_alarm.api_latency_p99, [aws_cloudwatch_metric_alarm.processing_time_p99]) :
      contains(a.alarm_actions, "arn:aws:sns:us-east-1:123456789012:imgpipe-test-alarms") && contains(a.ok_actions, "arn:aws:sns:us-east-1:123456789012:imgpipe-test-alarms")
    ])
    error_message = "Every alarm notifies (and clears on) the pipeline's topic."
  }

  assert {
    condition = (
      aws_sns_topic.alarms.kms_master_key_id == var.kms_key_arn &&
      jsondecode(aws_sns_topic_policy.alarms.policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012" &&
      jsondecode(aws_sns_topic_policy.alarms.policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:imgpipe-test-*" &&
      jsondecode(aws_sns_topic_policy.alarms.policy).Statement[1].Effect == "Deny"
    )
    error_message = "The topic is encrypted with the CMK, only this account's alarms of this environment publish, plain HTTP is denied."
  }

  # The key and the topic trust alarms by name (<name_prefix>-*): an alarm named otherwise would notify nobody.
  assert {
    condition = alltrue([
      for a in concat(values(aws_cloudwatch_metric_alarm.errors), values(aws_cloudwatch_metric_alarm.throttles), values(aws_cloudwatch_metric_alarm.duration_p99), aws_cloudwatch_metric_alarm.api_5xx, aws_cloudwatch_metric_alarm.api_latency_p99, [aws_cloudwatch_metric_alarm.processing_time_p99]) :
      startswith(a.alarm_name, "imgpipe-test-")
    ])
    error_message = "Every alarm's name starts with <name_prefix>-."
  }
}

run "the_api_and_processing_latency_alarms_take_their_thresholds_from_variables" {
  command = plan

  variables {
    thresholds = { api_latency_p99_ms = 1500, processing_time_p99_ms = 4000, api_5xx_rate = 0.05 }
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.api_5xx[0].threshold == 0.05 && aws_cloudwatch_metric_alarm.api_5xx[0].metric_name == "5XXError" &&
      aws_cloudwatch_metric_alarm.api_5xx[0].dimensions["ApiName"] == "imgpipe-test-api" && aws_cloudwatch_metric_alarm.api_5xx[0].dimensions["Stage"] == "v1" &&
      aws_cloudwatch_metric_alarm.api_latency_p99[0].threshold == 1500 &&
      aws_cloudwatch_metric_alarm.processing_time_p99.threshold == 4000 &&
      aws_cloudwatch_metric_alarm.processing_time_p99.namespace == "imgpipe" &&
      aws_cloudwatch_metric_alarm.processing_time_p99.extended_statistic == "p99"
    )
    error_message = "API 5xx rate and p99 latency, and the processor's p99 time, alarm at the configured thresholds."
  }
}

run "the_dashboard_shows_ingest_rejections_latency_and_every_queue" {
  command = plan

  assert {
    condition = (
      tolist([for w in jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets : w.properties.title]) == tolist(["Ingest rate by source (images / 5 min)", "Rejections by reason", "Processing time per image (ms)", "Queue depth (messages visible)", "Function errors and throttles"]) &&
      tolist([for m in jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets[3].properties.metrics : m[3]]) == tolist(var.queue_names) &&
      length(jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets[4].properties.metrics) == 2 * length(var.functions) &&
      strcontains(jsondecode(aws_cloudwatch_dashboard.pipeline.dashboard_body).widgets[1].properties.metrics[0][0].expression, "MetricName=\"ImagesRejected\"")
    )
    error_message = "The dashboard has the four views of the pipeline plus function health, every queue on the depth widget."
  }
}

run "a_timeout_fraction_of_one_is_refused" {
  command = plan

  variables {
    thresholds = { duration_p99_fraction_of_timeout = 1 }
  }

  expect_failures = [var.thresholds]
}

run "no_api_no_api_alarms" {
  command = plan

  variables {
    api = null
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.api_5xx) == 0 && length(aws_cloudwatch_metric_alarm.api_latency_p99) == 0
    error_message = "API alarms exist only with an API."
  }
}
