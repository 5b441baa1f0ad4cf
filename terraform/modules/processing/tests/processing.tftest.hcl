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
  target          = module.function.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-image_processor"
  }
}

variables {
  name_prefix                      = "imgpipe-test"
  kms_key_arn                      = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  raw_bucket_name                  = "imgpipe-test-raw-123456789012"
  raw_bucket_arn                   = "arn:aws:s3:::imgpipe-test-raw-123456789012"
  processed_bucket_name            = "imgpipe-test-processed-123456789012"
  processed_bucket_arn             = "arn:aws:s3:::imgpipe-test-processed-123456789012"
  table_name                       = "imgpipe-test-images"
  table_arn                        = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images"
  queue_arn                        = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-raw-events"
  queue_name                       = "imgpipe-test-raw-events"
  queue_visibility_timeout_seconds = 360
  dlq_name                         = "imgpipe-test-raw-events-dlq"
  function = {
    filename         = "dist/lambda/image_processor.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
}

################################################################################
# The function and its trigger
################################################################################

run "function_defaults_are_secure_and_sized_for_one_vcpu" {
  command = plan

  assert {
    condition     = module.function.lambda_function.architectures == tolist(["arm64"]) && module.function.lambda_function.memory_size == 1769
    error_message = "The processor must default to arm64 and 1769 MB (one full vCPU for a single-threaded engine)."
  }

  assert {
    condition     = module.function.lambda_function.tracing_config[0].mode == "Active" && module.function.lambda_function.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_RESPONSE == "false" && module.function.lambda_function.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_ERROR == "false"
    error_message = "X-Ray tracing must be active, and capture no responses or errors (traces are kept 30 days)."
  }

  assert {
    condition     = module.function.lambda_function.kms_key_arn == var.kms_key_arn && module.function.log_group.kms_key_id == var.kms_key_arn
    error_message = "The function environment and its log group must be encrypted with the environment's CMK."
  }

  assert {
    condition     = module.function.log_group.retention_in_days == 7
    error_message = "Log retention must not exceed retention_days (7)."
  }

  assert {
    condition     = module.function.lambda_function.reserved_concurrent_executions == -1
    error_message = "Without reserved_concurrency the function must be unreserved (-1), never 0 (which stops it)."
  }

  assert {
    condition     = module.function.lambda_function.tags["imgpipe:function"] == "image_processor"
    error_message = "The function must carry imgpipe:function = image_processor (the local runtime finds its code by it)."
  }
}

run "event_source_reports_partial_failures_with_configured_batching" {
  command = plan

  variables {
    batch_size                       = 8
    batching_window_seconds          = 3
    maximum_concurrency              = 4
    timeout_seconds                  = 90 # 8 images x a 10 s budget + 10 s
    queue_visibility_timeout_seconds = 540
  }

  assert {
    condition     = aws_lambda_event_source_mapping.raw_events[0].function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The mapping must use ReportBatchItemFailures so that only failed messages are retried."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.raw_events[0].batch_size == 8 &&
      aws_lambda_event_source_mapping.raw_events[0].maximum_batching_window_in_seconds == 3 &&
      aws_lambda_event_source_mapping.raw_events[0].scaling_config[0].maximum_concurrency == 4
    )
    error_message = "batch_size, batching_window_seconds and maximum_concurrency must reach the mapping."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.raw_events[0].event_source_arn == var.queue_arn && aws_lambda_event_source_mapping.raw_events[0].enabled
    error_message = "The mapping must consume the raw-events queue and be enabled by default."
  }
}

run "visibility_timeout_below_six_times_the_timeout_is_refused" {
  command = plan

  variables {
    timeout_seconds                  = 60
    queue_visibility_timeout_seconds = 300
  }

  expect_failures = [aws_lambda_event_source_mapping.raw_events[0]]
}

run "the_image_budget_reaches_the_function" {
  command = plan

  assert {
    condition     = module.function.lambda_function.environment[0].variables.IMAGE_BUDGET_SECONDS == "10"
    error_message = "The engine's per-image budget must reach the function (IMAGE_BUDGET_SECONDS)."
  }
}

run "a_timeout_that_cannot_fit_a_batch_of_worst_case_images_is_refused" {
  command = plan

  variables {
    timeout_seconds                  = 60
    queue_visibility_timeout_seconds = 360
    batch_size                       = 10
    image_budget_seconds             = 10
  }

  expect_failures = [aws_lambda_event_source_mapping.raw_events[0]]
}

run "an_image_budget_outside_its_range_is_refused" {
  command = plan

  variables {
    image_budget_seconds = 0
  }

  expect_failures = [var.image_budget_seconds]
}

run "reserved_concurrency_zero_is_refused" {
  command = plan

  variables {
    reserved_concurrency = 0
  }

  expect_failures = [var.reserved_concurrency]
}

################################################################################
# Least privilege
################################################################################

run "iam_policy_is_scoped_to_prefixes_table_queue_and_key" {
  command = plan

  assert {
    condition = alltrue([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement :
      s.Resource != "*" if s.Sid != "WriteTraces"
    ])
    error_message = "Only X-Ray trace submission may use Resource \"*\"."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement :
      alltrue([for a in flatten([s.Action]) : !endswith(a, "*")])
    ])
    error_message = "No wildcard actions."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s if s.Sid == "WriteAndPurgeRenditions"
      ]).Resource == "arn:aws:s3:::imgpipe-test-processed-123456789012/renditions/*" && one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s if s.Sid == "WriteAndPurgeRenditions"
    ]).Action == ["s3:PutObject", "s3:DeleteObjectVersion"]
    error_message = "The processor may only write and purge renditions, only under the processed prefix."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s
      if contains(flatten([s.Action]), "s3:ListBucketVersions") && s.Resource == "arn:aws:s3:::imgpipe-test-processed-123456789012"
      ]) == {
      Sid       = "ListRenditionVersionsUnderPrefix"
      Effect    = "Allow"
      Action    = ["s3:ListBucketVersions"]
      Resource  = "arn:aws:s3:::imgpipe-test-processed-123456789012"
      Condition = { StringLike = { "s3:prefix" = ["renditions/*"] } }
    }
    error_message = "The processor lists rendition versions only under the processed prefix."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s if s.Sid == "ReadAndDeleteRawObjects"
    ]).Resource == "arn:aws:s3:::imgpipe-test-raw-123456789012/raw/*"
    error_message = "Raw objects may only be read and deleted under the raw prefix."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s if s.Sid == "ReadAndUpdateImageMetadata"
    ]).Action == ["dynamodb:GetItem", "dynamodb:UpdateItem"]
    error_message = "The processor reads and updates items; it never puts, deletes or scans."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s if s.Sid == "UseEnvironmentKey"
    ]).Resource == var.kms_key_arn
    error_message = "KMS permissions must name the environment's CMK only."
  }
}

################################################################################
# Renditions: the Terraform variable is what the function receives
################################################################################

run "default_renditions_reach_the_function_as_json" {
  command = plan

  assert {
    condition     = [for r in jsondecode(module.function.lambda_function.environment[0].variables.RENDITIONS_JSON) : "${r.name}:${r.max_edge}:${r.format}"] == ["large:1280:jpeg", "medium:640:jpeg", "thumb:160:jpeg", "large_webp:1280:webp"]
    error_message = "Default renditions must be 1280/640/160 JPEG and 1280 WebP, in that order."
  }
}

run "custom_rendition_with_operations" {
  command = plan

  variables {
    renditions = [
      { name = "square", max_edge = 256, format = "avif", quality = 50, operations = { crop_aspect = [1, 1], grayscale = true, watermark = "imgpipe" } },
    ]
  }

  assert {
    condition = jsondecode(module.function.lambda_function.environment[0].variables.RENDITIONS_JSON)[0] == {
      name       = "square", max_edge = 256, format = "avif", quality = 50
      operations = { crop_aspect = [1, 1], grayscale = true, autocontrast = false, blur_radius = 0, sharpen = false, watermark = "imgpipe" }
    }
    error_message = "A rendition's operations must reach RENDITIONS_JSON exactly."
  }
}

run "unknown_rendition_format_is_refused" {
  command = plan

  variables {
    renditions = [{ name = "gif", max_edge = 256, format = "gif" }]
  }

  expect_failures = [var.renditions]
}

run "duplicate_rendition_names_are_refused" {
  command = plan

  variables {
    renditions = [{ name = "a", max_edge = 256, format = "jpeg" }, { name = "a", max_edge = 128, format = "png" }]
  }

  expect_failures = [var.renditions]
}

################################################################################
# Operations
################################################################################

run "alarms_watch_dlq_backlog_and_errors" {
  command = plan

  variables {
    alarm_actions = ["arn:aws:sns:us-east-1:123456789012:imgpipe-test-alarms"]
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.dlq_not_empty.dimensions.QueueName == var.dlq_name &&
      aws_cloudwatch_metric_alarm.dlq_not_empty.threshold == 0 &&
      aws_cloudwatch_metric_alarm.backlog_age.dimensions.QueueName == var.queue_name &&
      module.function.alarms["errors"].dimensions.FunctionName == "imgpipe-test-image_processor"
    )
    error_message = "Alarms must watch the DLQ (any message), the queue's backlog age and the function's errors."
  }

  assert {
    condition     = alltrue([for a in [aws_cloudwatch_metric_alarm.dlq_not_empty, aws_cloudwatch_metric_alarm.backlog_age, module.function.alarms["errors"]] : a.alarm_actions == toset(var.alarm_actions)])
    error_message = "Every alarm must notify alarm_actions."
  }
}

run "the_malware_verdict_is_required_unless_said_otherwise_and_readable" {
  command = plan

  assert {
    condition = (
      module.function.lambda_function.environment[0].variables.MALWARE_SCAN == "required" &&
      anytrue([for s in jsondecode(module.function.iam_role_policy.policy).Statement : contains(flatten([s.Action]), "s3:GetObjectTagging") && s.Resource == "arn:aws:s3:::imgpipe-test-raw-123456789012/raw/*"])
    )
    error_message = "By default the processor waits for GuardDuty's verdict, and may read tags under the raw prefix only."
  }
}

run "an_unknown_malware_scan_mode_is_refused" {
  command = plan

  variables {
    malware_scan = "sometimes"
  }

  expect_failures = [var.malware_scan]
}

run "the_trigger_invokes_the_live_alias_of_a_published_version" {
  command = plan

  override_resource {
    target          = module.function.aws_lambda_alias.live
    override_during = plan
    values = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-image_processor:live"
    }
  }

  assert {
    condition = (
      module.function.lambda_function.publish && module.function.lambda_alias.name == "live" &&
      module.function.lambda_alias.function_version == module.function.lambda_function.version &&
      aws_lambda_event_source_mapping.raw_events[0].function_name == module.function.lambda_alias.arn
    )
    error_message = "The event source invokes the live alias (the version the last apply published), never $LATEST: a rollback is one alias update."
  }
}

run "split_mode_lets_the_function_alone_pass_large_images_to_the_workers_queue" {
  command = plan

  variables {
    large_images = {
      queue_arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-large-images"
      queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-large-images"
      min_bytes = 4194304
    }
  }

  assert {
    condition = (
      module.function.lambda_function.environment[0].variables.LARGE_IMAGE_QUEUE_URL == var.large_images.queue_url &&
      module.function.lambda_function.environment[0].variables.LARGE_IMAGE_MIN_BYTES == "4194304"
    )
    error_message = "The function must know the workers' queue and the threshold."
  }

  assert {
    condition     = !contains(keys(module.function.lambda_function.environment[0].variables), "LARGE_IMAGE_MIN_PIXELS")
    error_message = "Without min_pixels the size alone decides: the function must not be given a pixel rule."
  }

  assert {
    condition = [for s in jsondecode(module.function.iam_role_policy.policy).Statement : s if s.Sid == "PassLargeImagesToWorkers"] == [{
      Sid = "PassLargeImagesToWorkers", Effect = "Allow", Action = ["sqs:SendMessage"], Resource = var.large_images.queue_arn
    }]
    error_message = "The function may send to the workers' queue alone, and only send."
  }

  assert {
    condition = (
      !contains(keys(output.environment), "LARGE_IMAGE_QUEUE_URL") &&
      length([for s in output.processor_statements : s if contains(["PassLargeImagesToWorkers", "ConsumeRawEvents"], s.Sid)]) == 0
    )
    error_message = "The workers' settings and grants must neither route nor name a queue (they are granted their own)."
  }
}

run "split_mode_with_a_pixel_rule_gives_it_to_the_function_alone" {
  command = plan

  variables {
    large_images = {
      queue_arn  = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-large-images"
      queue_url  = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-large-images"
      min_bytes  = 4194304
      min_pixels = 24000000
    }
  }

  assert {
    condition     = module.function.lambda_function.environment[0].variables.LARGE_IMAGE_MIN_PIXELS == "24000000"
    error_message = "The function must know the pixel rule."
  }

  assert {
    condition     = !contains(keys(output.environment), "LARGE_IMAGE_MIN_PIXELS")
    error_message = "The workers never route: they must not be given the pixel rule."
  }
}

run "a_pixel_rule_of_no_pixels_is_refused" {
  command = plan

  variables {
    large_images = {
      queue_arn  = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-large-images"
      queue_url  = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-large-images"
      min_bytes  = 1
      min_pixels = 0
    }
  }

  expect_failures = [var.large_images]
}

run "containers_mode_keeps_the_function_without_a_trigger" {
  command = plan

  variables {
    lambda_consumes_queue = false
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.raw_events) == 0 && output.event_source == null && output.event_source_mapping_uuid == null
    error_message = "With the workers consuming the raw-events queue the function must have no mapping."
  }
}

run "split_mode_without_the_function_consuming_is_refused" {
  command = plan

  variables {
    lambda_consumes_queue = false
    large_images = {
      queue_arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-large-images"
      queue_url = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-large-images"
      min_bytes = 1
    }
  }

  expect_failures = [var.large_images]
}
