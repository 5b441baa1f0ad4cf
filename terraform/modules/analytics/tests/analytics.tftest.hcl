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
  target          = aws_sqs_queue.export_failures
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-export-failures"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-export-failures"
  }
}

override_resource {
  target          = aws_athena_workgroup.this
  override_during = plan
  values = {
    arn = "arn:aws:athena:us-east-1:123456789012:workgroup/imgpipe-test-analytics"
  }
}

variables {
  name_prefix           = "imgpipe-test"
  kms_key_arn           = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  analytics_bucket_name = "imgpipe-test-analytics-123456789012"
  results_bucket_name   = "imgpipe-test-athena-results-123456789012"
  table_stream_arn      = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images/stream/2026-12-01T00:00:00.000"
  function = {
    filename         = "dist/lambda/metadata_export.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
}

run "the_glue_table_is_the_export_schema_with_projected_partitions_of_the_window" {
  command = plan

  assert {
    condition = [for c in aws_glue_catalog_table.changes.storage_descriptor[0].columns : "${c.name}:${c.type}"] == [
      for c in jsondecode(file("export_schema.json")).columns : "${c.name}:${c.type}"
    ]
    error_message = "The table's columns must be export_schema.json's, in order (imgpipe.export.EXPORT_COLUMNS; a Python test keeps those equal)."
  }

  assert {
    condition = (
      [for p in aws_glue_catalog_table.changes.partition_keys : p.name] == ["dt", "hour"] &&
      aws_glue_catalog_table.changes.parameters["projection.enabled"] == "true" &&
      aws_glue_catalog_table.changes.parameters["projection.dt.range"] == "NOW-8DAYS,NOW" &&
      aws_glue_catalog_table.changes.parameters["storage.location.template"] == "s3://imgpipe-test-analytics-123456789012/exports/v1/dt=$${dt}/hour=$${hour}/" &&
      aws_glue_catalog_table.changes.storage_descriptor[0].ser_de_info[0].serialization_library == "org.openx.data.jsonserde.JsonSerDe"
    )
    error_message = "Partitions dt/hour are projected over the retention window only, from the export files' layout."
  }
}

run "athena_enforces_encrypted_results_and_a_scan_limit" {
  command = plan

  assert {
    condition = (
      aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration &&
      aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 1073741824 &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://imgpipe-test-athena-results-123456789012/results/" &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS" &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == var.kms_key_arn
    )
    error_message = "Results go to the results bucket encrypted with the CMK, users cannot override it, and scans are capped."
  }

  assert {
    condition = (
      toset(keys(aws_athena_named_query.reports)) == toset(["volumes", "rejections", "latency", "volume_by_hour", "formats"]) &&
      alltrue([for q in aws_athena_named_query.reports : strcontains(q.query, "\"imgpipe_test_analytics\".\"image_changes\"") && !strcontains(q.query, "{{")]) &&
      alltrue([for q in aws_athena_named_query.reports : strcontains(q.query, "event = 'upsert'") && strcontains(q.query, "to_unixtime(current_timestamp)")])
    )
    error_message = "Every report of queries/*.sql is a named query over the latest change per image, tombstones and expired images left out."
  }
}

run "the_export_reads_the_stream_with_partial_failures_bisection_and_an_on_failure_queue" {
  command = plan

  assert {
    condition = (
      aws_lambda_event_source_mapping.stream[0].event_source_arn == var.table_stream_arn &&
      aws_lambda_event_source_mapping.stream[0].bisect_batch_on_function_error &&
      aws_lambda_event_source_mapping.stream[0].function_response_types == toset(["ReportBatchItemFailures"]) &&
      aws_lambda_event_source_mapping.stream[0].starting_position == "TRIM_HORIZON" &&
      aws_lambda_event_source_mapping.stream[0].destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.export_failures.arn
    )
    error_message = "The stream mapping must report partial failures, bisect, and send what it gives up to the failures queue."
  }

  assert {
    condition = (
      aws_sqs_queue.export_failures.message_retention_seconds == 604800 &&
      aws_sqs_queue.export_failures.kms_master_key_id == var.kms_key_arn &&
      module.function.log_group.retention_in_days == 7 &&
      module.function.log_group.kms_key_id == var.kms_key_arn &&
      module.function.lambda_function.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_RESPONSE == "false"
    )
    error_message = "Queue and logs encrypted and bounded by the retention; no responses in X-Ray."
  }

  assert {
    condition = (
      one([for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "WriteExportFiles"]) == "arn:aws:s3:::imgpipe-test-analytics-123456789012/exports/v1/*" &&
      one([for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "ReadTheTableStream"]) == "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images/stream/*" &&
      alltrue([for s in jsondecode(module.function.iam_role_policy.policy).Statement : alltrue([for a in flatten([s.Action]) : !endswith(a, "*")]) && (s.Resource != "*" || s.Sid == "WriteTraces")])
    )
    error_message = "The export writes only under exports/, reads only its table's stream, and uses no wildcards."
  }
}

run "no_analyst_role_or_quicksight_unless_asked" {
  command = plan

  assert {
    condition     = length(aws_iam_role.analyst) == 0 && length(aws_quicksight_data_source.athena) == 0 && length(aws_quicksight_data_set.current_images) == 0
    error_message = "The analyst role and QuickSight are opt-in."
  }
}

run "the_analyst_role_is_read_only_and_quicksight_queries_directly" {
  command = plan

  variables {
    analyst_principal_arns = ["arn:aws:iam::123456789012:role/bi-analysts"]
    quicksight = {
      principal_arn = "arn:aws:quicksight:us-east-1:123456789012:group/default/bi"
      tenant_groups = { "arn:aws:quicksight:us-east-1:123456789012:group/default/bi" = ["team-a"] }
    }
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.analyst[0].policy).Statement :
      alltrue([for a in flatten([s.Action]) : !startswith(a, "dynamodb:") && !endswith(a, "*") && (a != "s3:PutObject" || s.Sid == "OwnQueryResults")])
    ])
    error_message = "Analysts read exports and write only their own query results: no table access, no wildcards."
  }

  assert {
    condition     = one([for s in jsondecode(aws_iam_role_policy.analyst[0].policy).Statement : s.Resource if s.Sid == "QueryInTheWorkgroup"]) == "arn:aws:athena:us-east-1:123456789012:workgroup/imgpipe-test-analytics"
    error_message = "Analysts query only in the enforced workgroup."
  }

  assert {
    condition     = aws_quicksight_data_set.current_images[0].import_mode == "DIRECT_QUERY" && aws_quicksight_data_source.athena[0].parameters[0].athena[0].work_group == "imgpipe-test-analytics"
    error_message = "QuickSight queries Athena directly (no SPICE copy outliving the retention) in the workgroup."
  }
}

run "quicksight_rows_are_always_under_row_level_security_by_tenant" {
  command = plan

  variables {
    quicksight = {
      principal_arn = "arn:aws:quicksight:us-east-1:123456789012:group/default/bi-authors"
      tenant_groups = {
        "arn:aws:quicksight:us-east-1:123456789012:group/default/team-b" = ["team-b"]
        "arn:aws:quicksight:us-east-1:123456789012:group/default/team-a" = ["team-a", "team-a-labs", "team-a"]
      }
    }
  }

  assert {
    condition = one([
      for rls in aws_quicksight_data_set.current_images[0].row_level_permission_data_set :
      rls.permission_policy == "GRANT_ACCESS" && rls.status == "ENABLED" && rls.format_version == "VERSION_2"
    ]) == true
    error_message = "The current-images dataset must always carry enabled GRANT_ACCESS row-level security."
  }

  assert {
    condition     = local.quicksight_rules_sql == "SELECT user_arn, group_arn, tenant_id FROM (VALUES (CAST(NULL AS varchar), 'arn:aws:quicksight:us-east-1:123456789012:group/default/team-a', 'team-a'), (CAST(NULL AS varchar), 'arn:aws:quicksight:us-east-1:123456789012:group/default/team-a', 'team-a-labs'), (CAST(NULL AS varchar), 'arn:aws:quicksight:us-east-1:123456789012:group/default/team-b', 'team-b')) AS rules(user_arn, group_arn, tenant_id)"
    error_message = "One rule per (group, tenant), sorted and without duplicates."
  }

  assert {
    condition = flatten([
      for table in aws_quicksight_data_set.tenant_rules[0].logical_table_map : [
        for t in table.data_transforms : [for op in t.rename_column_operation : op.new_column_name]
      ]
    ]) == ["UserARN", "GroupARN"]
    error_message = "QuickSight reads the rules' principals from UserARN and GroupARN."
  }

  assert {
    condition = contains(flatten([
      for t in aws_quicksight_data_set.current_images[0].physical_table_map : [for sql in t.custom_sql : [for c in sql.columns : c.name]]
    ]), "tenant_id")
    error_message = "The dataset must expose tenant_id, the field the rules grant on."
  }

  assert {
    condition     = aws_quicksight_data_set.tenant_rules[0].import_mode == "DIRECT_QUERY"
    error_message = "The rules are read live, like the data."
  }
}

run "quicksight_without_tenant_rules_is_refused" {
  command = plan

  variables {
    quicksight = {
      principal_arn = "arn:aws:quicksight:us-east-1:123456789012:group/default/bi"
      tenant_groups = {}
    }
  }

  expect_failures = [var.quicksight]
}

run "a_tenant_that_could_leave_the_rules_sql_is_refused" {
  command = plan

  variables {
    quicksight = {
      principal_arn = "arn:aws:quicksight:us-east-1:123456789012:group/default/bi"
      tenant_groups = {
        "arn:aws:quicksight:us-east-1:123456789012:group/default/team-a" = ["team-a') OR (1=1"]
      }
    }
  }

  expect_failures = [var.quicksight]
}

run "rules_name_groups_not_users" {
  command = plan

  variables {
    quicksight = {
      principal_arn = "arn:aws:quicksight:us-east-1:123456789012:group/default/bi"
      tenant_groups = {
        "arn:aws:quicksight:us-east-1:123456789012:user/default/alice" = ["team-a"]
      }
    }
  }

  expect_failures = [var.quicksight]
}

run "an_emulator_without_a_mapping_still_declares_what_to_deliver" {
  command = plan

  variables {
    create_event_source_mapping = false
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.stream) == 0 && !output.event_source.mapping_created
    error_message = "Without create_event_source_mapping there is no mapping."
  }

  assert {
    condition     = output.event_source.stream_arn == var.table_stream_arn && output.event_source.function_name == "imgpipe-test-metadata_export" && output.event_source.batch_size == 500
    error_message = "event_source must declare the stream, function and batching for the local runtime."
  }
}


run "the_trigger_invokes_the_live_alias_of_a_published_version" {
  command = plan

  override_resource {
    target          = module.function.aws_lambda_alias.live
    override_during = plan
    values = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-metadata_export:live"
    }
  }

  assert {
    condition = (
      module.function.lambda_function.publish && module.function.lambda_alias.name == "live" &&
      module.function.lambda_alias.function_name == module.function.lambda_function.function_name &&
      aws_lambda_event_source_mapping.stream[0].function_name == module.function.lambda_alias.arn
    )
    error_message = "The event source invokes the live alias (the version the last apply published), never $LATEST: a rollback is one alias update."
  }
}
