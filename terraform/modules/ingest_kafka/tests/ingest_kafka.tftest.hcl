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
  target          = aws_sqs_queue.rejects
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:imgpipe-test-kafka-rejects"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/imgpipe-test-kafka-rejects"
  }
}

override_resource {
  target          = aws_dynamodb_table.idempotency
  override_during = plan
  values = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-kafka-idempotency"
  }
}

override_resource {
  target          = module.function.aws_lambda_function.this
  override_during = plan
  values = {
    arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-kafka_ingest"
  }
}

variables {
  name_prefix     = "imgpipe-test"
  kms_key_arn     = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  raw_bucket_name = "imgpipe-test-raw-123456789012"
  raw_bucket_arn  = "arn:aws:s3:::imgpipe-test-raw-123456789012"
  table_name      = "imgpipe-test-images"
  table_arn       = "arn:aws:dynamodb:us-east-1:123456789012:table/imgpipe-test-images"
  function = {
    filename         = "dist/lambda/kafka_ingest.zip"
    source_code_hash = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
  }
  kafka = {
    type               = "msk"
    cluster_arn        = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
    topic              = "camera-images"
    default_tenant     = "cameras"
    consumer_group_id  = "imgpipe-kafka-ingest"
    subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
    security_group_ids = ["sg-0ccc"]
    vpc_id             = "vpc-0abc"
  }
}

run "msk_source_is_consumed_with_iam_scoped_to_its_cluster_topic_and_group" {
  command = plan

  assert {
    condition = (
      aws_lambda_event_source_mapping.kafka[0].event_source_arn == var.kafka.cluster_arn &&
      aws_lambda_event_source_mapping.kafka[0].topics == toset(["camera-images"]) &&
      aws_lambda_event_source_mapping.kafka[0].amazon_managed_kafka_event_source_config[0].consumer_group_id == "imgpipe-kafka-ingest" &&
      aws_lambda_event_source_mapping.kafka[0].function_response_types == toset(["ReportBatchItemFailures"]) &&
      aws_lambda_event_source_mapping.kafka[0].starting_position == "TRIM_HORIZON"
    )
    error_message = "The MSK mapping must consume the declared topic in the declared group, with partial failures."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.kafka[0].destination_config[0].on_failure[0].destination_arn == aws_sqs_queue.rejects.arn
    error_message = "Records that keep failing must go to the rejects queue (on-failure destination)."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "ReadTheTopic"
    ]) == "arn:aws:kafka:us-east-1:123456789012:topic/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2/camera-images"
    error_message = "ReadData must be granted on the one topic only."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "UseTheConsumerGroup"
    ]) == "arn:aws:kafka:us-east-1:123456789012:group/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2/imgpipe-kafka-ingest"
    error_message = "Group permissions must name the one consumer group."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement :
      s.Resource != "*" if !contains(["WriteTraces", "PlaceNetworkInterfaces"], s.Sid)
    ])
    error_message = "Only X-Ray and the VPC network-interface actions may use Resource \"*\"."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement :
      alltrue([for a in flatten([s.Action]) : !endswith(a, "*")])
    ])
    error_message = "No wildcard actions (kafka-cluster:* in particular)."
  }
}

run "data_permissions_are_prefix_and_table_scoped" {
  command = plan

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "WriteRawImages"
    ]) == "arn:aws:s3:::imgpipe-test-raw-123456789012/raw/*"
    error_message = "The function writes raw images under the raw prefix only."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "ReadAndRemoveStagedClaimChecks"
    ]) == "arn:aws:s3:::imgpipe-test-raw-123456789012/staging/*"
    error_message = "Claim-checks are read only under the staging prefix."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Action if s.Sid == "WriteNewImageItems"
    ]) == ["dynamodb:PutItem"]
    error_message = "The function only creates items."
  }
}

run "everything_is_encrypted_and_kept_no_longer_than_the_retention" {
  command = plan

  assert {
    condition = (
      aws_sqs_queue.rejects.kms_master_key_id == var.kms_key_arn &&
      aws_dynamodb_table.idempotency.server_side_encryption[0].kms_key_arn == var.kms_key_arn &&
      module.function.lambda_function.kms_key_arn == var.kms_key_arn &&
      module.function.log_group.kms_key_id == var.kms_key_arn
    )
    error_message = "Queue, idempotency table, function environment and logs must use the environment's CMK."
  }

  assert {
    condition = (
      aws_sqs_queue.rejects.message_retention_seconds == 604800 &&
      module.function.log_group.retention_in_days == 7 &&
      module.function.lambda_function.environment[0].variables.IDEMPOTENCY_SECONDS == "604800" &&
      one(aws_dynamodb_table.idempotency.ttl).enabled
    )
    error_message = "Nothing may outlive the 7-day retention."
  }

  assert {
    condition     = module.function.lambda_function.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_RESPONSE == "false" && module.function.lambda_function.environment[0].variables.POWERTOOLS_TRACER_CAPTURE_ERROR == "false"
    error_message = "X-Ray keeps traces 30 days: no responses or errors may be captured into them."
  }

  assert {
    condition     = module.function.lambda_function.tracing_config[0].mode == "Active" && module.function.lambda_function.tags["imgpipe:function"] == "kafka_ingest"
    error_message = "Tracing on; imgpipe:function names the code folder."
  }
}

run "offset_lag_and_rejects_alarm_notify_the_given_actions" {
  command = plan

  variables {
    alarm_actions              = ["arn:aws:sns:us-east-1:123456789012:imgpipe-alarms"]
    offset_lag_alarm_threshold = 500
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.offset_lag.namespace == "AWS/Lambda" &&
      aws_cloudwatch_metric_alarm.offset_lag.metric_name == "OffsetLag" &&
      aws_cloudwatch_metric_alarm.offset_lag.dimensions.FunctionName == "imgpipe-test-kafka_ingest" &&
      aws_cloudwatch_metric_alarm.offset_lag.threshold == 500 &&
      aws_cloudwatch_metric_alarm.offset_lag.comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.offset_lag.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:imgpipe-alarms"])
    )
    error_message = "The event source's OffsetLag for this function must alarm over the threshold and notify."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.rejects.dimensions.QueueName == "imgpipe-test-kafka-rejects" &&
      aws_cloudwatch_metric_alarm.rejects.threshold == 0 &&
      aws_cloudwatch_metric_alarm.rejects.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:imgpipe-alarms"])
    )
    error_message = "Any rejected or given-up record must raise the rejects alarm."
  }
}

run "self_managed_with_scram_reads_its_secret_and_runs_in_the_vpc" {
  command = plan

  variables {
    kafka = {
      type               = "self_managed"
      bootstrap_servers  = ["b-1.kafka.internal:9096", "b-2.kafka.internal:9096"]
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe"
      auth               = "sasl_scram_512"
      scram_secret_arn   = "arn:aws:secretsmanager:us-east-1:123456789012:secret:AmazonMSK_imgpipe-AbCdEf"
      subnet_ids         = ["subnet-0aaa"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
  }

  assert {
    condition     = toset(keys(aws_vpc_endpoint.pollers)) == toset(["sts", "lambda", "secretsmanager"])
    error_message = "With SCRAM the pollers also need a Secrets Manager endpoint."
  }

  assert {
    condition     = aws_lambda_event_source_mapping.kafka[0].self_managed_event_source[0].endpoints.KAFKA_BOOTSTRAP_SERVERS == "b-1.kafka.internal:9096,b-2.kafka.internal:9096"
    error_message = "The self-managed source must list the bootstrap servers."
  }

  assert {
    condition = toset([for c in aws_lambda_event_source_mapping.kafka[0].source_access_configuration : "${c.type}=${c.uri}"]) == toset([
      "VPC_SUBNET=subnet:subnet-0aaa",
      "VPC_SECURITY_GROUP=security_group:sg-0ccc",
      "SASL_SCRAM_512_AUTH=arn:aws:secretsmanager:us-east-1:123456789012:secret:AmazonMSK_imgpipe-AbCdEf",
    ])
    error_message = "Subnets, security groups and the SCRAM secret must reach the mapping."
  }

  assert {
    condition = one([
      for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "ReadBrokerCredentials"
    ]) == var.kafka.scram_secret_arn
    error_message = "The function may read only the broker secret it was given."
  }
}

run "local_style_source_without_mapping_still_declares_what_to_consume" {
  command = plan

  variables {
    create_event_source_mapping = false
    kafka = {
      type              = "self_managed"
      bootstrap_servers = ["127.0.0.1:19092"]
      topic             = "images"
      default_tenant    = "cameras"
      consumer_group_id = "imgpipe-local"
      auth              = "none"
    }
  }

  assert {
    condition     = length(aws_lambda_event_source_mapping.kafka) == 0
    error_message = "Without create_event_source_mapping there is no mapping."
  }

  assert {
    condition     = output.event_source.topic == "images" && output.event_source.consumer_group_id == "imgpipe-local" && output.event_source.batch_size == 100 && !output.event_source.mapping_created
    error_message = "event_source must declare topic, group and batching for the local runtime."
  }
}

run "msk_without_iam_or_vpc_is_refused" {
  command = plan

  variables {
    kafka = {
      type              = "msk"
      cluster_arn       = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
      topic             = "camera-images"
      default_tenant    = "cameras"
      consumer_group_id = "imgpipe"
      auth              = "none"
    }
  }

  expect_failures = [var.kafka]
}

run "self_managed_scram_without_a_secret_gets_one_here_encrypted_valueless_and_read_only_by_its_function" {
  command = plan

  override_resource {
    target          = aws_secretsmanager_secret.scram
    override_during = plan
    values = {
      arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/kafka-scram-AbCdEf"
    }
  }

  variables {
    kafka = {
      type              = "self_managed"
      bootstrap_servers = ["b-1.kafka.internal:9096"]
      topic             = "camera-images"
      default_tenant    = "cameras"
      consumer_group_id = "imgpipe"
      auth              = "sasl_scram_512"
    }
  }

  assert {
    condition = (
      aws_secretsmanager_secret.scram[0].name == "imgpipe-test/kafka-scram" &&
      aws_secretsmanager_secret.scram[0].kms_key_id == var.kms_key_arn &&
      aws_secretsmanager_secret.scram[0].recovery_window_in_days == 30 &&
      length(aws_secretsmanager_secret_rotation.scram) == 0
    )
    error_message = "Without a secret of the caller's, one is made with the environment's key (its value is the operator's to put)."
  }

  assert {
    condition = contains(
      one([for st in jsondecode(module.function.iam_role_policy.policy).Statement : st.Condition.StringEquals["kms:ViaService"] if st.Sid == "UseEnvironmentKey"]),
      "secretsmanager.us-east-1.amazonaws.com"
    )
    error_message = "The function may decrypt the secret made here, through Secrets Manager only."
  }

  assert {
    condition = (
      one([for st in jsondecode(module.function.iam_role_policy.policy).Statement : st.Resource if st.Sid == "ReadBrokerCredentials"]) == "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/kafka-scram-AbCdEf" &&
      output.scram_secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:imgpipe-test/kafka-scram-AbCdEf"
    )
    error_message = "Only kafka_ingest's role reads the secret, and the event source is given the same one."
  }
}

run "a_rotation_function_rotates_the_scram_secret_made_here" {
  command = plan

  variables {
    kafka = {
      type                      = "self_managed"
      bootstrap_servers         = ["b-1.kafka.internal:9096"]
      topic                     = "camera-images"
      default_tenant            = "cameras"
      consumer_group_id         = "imgpipe"
      auth                      = "sasl_scram_512"
      scram_rotation_lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:kafka-scram-rotation"
      scram_rotation_days       = 14
    }
  }

  assert {
    condition = (
      aws_secretsmanager_secret_rotation.scram[0].rotation_lambda_arn == "arn:aws:lambda:us-east-1:123456789012:function:kafka-scram-rotation" &&
      aws_secretsmanager_secret_rotation.scram[0].rotation_rules[0].automatically_after_days == 14
    )
    error_message = "The rotation hook is wired to the given function and schedule."
  }
}

run "a_rotation_function_without_scram_is_refused" {
  command = plan

  variables {
    kafka = {
      type                      = "self_managed"
      bootstrap_servers         = ["b-1.kafka.internal:9096"]
      topic                     = "camera-images"
      default_tenant            = "cameras"
      consumer_group_id         = "imgpipe"
      auth                      = "none"
      scram_rotation_lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:kafka-scram-rotation"
    }
  }

  expect_failures = [var.kafka]
}

run "overlapping_claim_check_prefix_is_refused" {
  command = plan

  variables {
    claim_check_prefix = "raw/staging/"
  }

  expect_failures = [var.claim_check_prefix]
}

run "pollers_reach_sts_and_lambda_through_interface_endpoints_without_nat" {
  command = plan

  assert {
    condition     = toset(keys(aws_vpc_endpoint.pollers)) == toset(["sts", "lambda"])
    error_message = "An MSK source with IAM auth needs the STS and Lambda endpoints (no Secrets Manager without SCRAM)."
  }

  assert {
    condition = alltrue([
      for service, endpoint in aws_vpc_endpoint.pollers :
      endpoint.vpc_endpoint_type == "Interface" && endpoint.private_dns_enabled &&
      endpoint.service_name == "com.amazonaws.us-east-1.${service}" && endpoint.vpc_id == "vpc-0abc" &&
      toset(endpoint.subnet_ids) == toset(["subnet-0aaa", "subnet-0bbb"])
    ])
    error_message = "Endpoints must be private-DNS interface endpoints in the brokers' subnets."
  }

  assert {
    condition = (
      length(aws_security_group.endpoints[0].ingress) == 1 &&
      one(aws_security_group.endpoints[0].ingress).from_port == 443 &&
      one(aws_security_group.endpoints[0].ingress).to_port == 443 &&
      one(aws_security_group.endpoints[0].ingress).security_groups == toset(["sg-0ccc"]) &&
      length(coalesce(one(aws_security_group.endpoints[0].ingress).cidr_blocks, [])) == 0
    )
    error_message = "The endpoints accept HTTPS from the pollers' security groups only."
  }

  assert {
    condition     = length(aws_msk_cluster.this) == 0
    error_message = "An existing cluster is consumed, never created."
  }
}

run "vpc_endpoints_can_be_left_to_a_vpc_that_has_them" {
  command = plan

  variables {
    create_vpc_endpoints = false
  }

  assert {
    condition     = length(aws_vpc_endpoint.pollers) == 0 && length(aws_security_group.endpoints) == 0
    error_message = "create_vpc_endpoints = false creates no endpoints."
  }
}

run "a_new_msk_cluster_is_private_encrypted_iam_only_and_keeps_data_no_longer_than_retention" {
  command = plan

  variables {
    new_msk_cluster = {}
    kafka = {
      type               = "msk"
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe-kafka-ingest"
      subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
  }

  override_resource {
    target          = aws_msk_cluster.this
    override_during = plan
    values = {
      arn = "arn:aws:kafka:us-east-1:123456789012:cluster/imgpipe-test-images/99999999-8888-7777-6666-555555555555-1"
    }
  }

  override_resource {
    target          = aws_security_group.brokers
    override_during = plan
    values = {
      id = "sg-0brokers"
    }
  }

  assert {
    condition = (
      aws_msk_cluster.this[0].encryption_info[0].encryption_at_rest_kms_key_arn == var.kms_key_arn &&
      aws_msk_cluster.this[0].encryption_info[0].encryption_in_transit[0].client_broker == "TLS" &&
      aws_msk_cluster.this[0].encryption_info[0].encryption_in_transit[0].in_cluster
    )
    error_message = "Storage must be encrypted with the environment's key, and every connection must use TLS."
  }

  assert {
    condition = (
      !aws_msk_cluster.this[0].client_authentication[0].unauthenticated &&
      aws_msk_cluster.this[0].client_authentication[0].sasl[0].iam &&
      !aws_msk_cluster.this[0].client_authentication[0].sasl[0].scram &&
      aws_msk_cluster.this[0].broker_node_group_info[0].connectivity_info[0].public_access[0].type == "DISABLED"
    )
    error_message = "The cluster takes IAM-authenticated clients only, and is not reachable from the internet."
  }

  assert {
    condition     = aws_msk_cluster.this[0].number_of_broker_nodes == 2 && toset(aws_msk_cluster.this[0].broker_node_group_info[0].client_subnets) == toset(["subnet-0aaa", "subnet-0bbb"])
    error_message = "One broker per subnet by default."
  }

  assert {
    condition = (
      aws_msk_cluster.this[0].logging_info[0].broker_logs[0].cloudwatch_logs[0].enabled &&
      aws_cloudwatch_log_group.brokers[0].retention_in_days <= var.retention_days &&
      aws_cloudwatch_log_group.brokers[0].kms_key_id == var.kms_key_arn
    )
    error_message = "Broker logs go to an encrypted log group kept no longer than the retention."
  }

  assert {
    condition = (
      strcontains(aws_msk_configuration.this[0].server_properties, "log.retention.hours=168") &&
      strcontains(aws_msk_configuration.this[0].server_properties, "log.roll.hours=1") &&
      strcontains(aws_msk_configuration.this[0].server_properties, "message.max.bytes=${var.max_inline_bytes + 65536}") &&
      strcontains(aws_msk_configuration.this[0].server_properties, "num.partitions=3")
    )
    error_message = "The topic data (image bytes) expires with the retention, and messages fit max_inline_bytes."
  }

  assert {
    condition = (
      aws_lambda_event_source_mapping.kafka[0].event_source_arn == "arn:aws:kafka:us-east-1:123456789012:cluster/imgpipe-test-images/99999999-8888-7777-6666-555555555555-1" &&
      one([for s in jsondecode(module.function.iam_role_policy.policy).Statement : s.Resource if s.Sid == "ReadTheTopic"]) == "arn:aws:kafka:us-east-1:123456789012:topic/imgpipe-test-images/99999999-8888-7777-6666-555555555555-1/camera-images" &&
      output.event_source.cluster_arn == aws_msk_cluster.this[0].arn
    )
    error_message = "The mapping, the IAM grants and the declared source all name the created cluster."
  }

  assert {
    condition = (
      aws_vpc_security_group_ingress_rule.brokers_from_consumers["sg-0ccc"].from_port == 9098 &&
      aws_vpc_security_group_egress_rule.brokers_to_endpoints[0].from_port == 443 &&
      toset(aws_msk_cluster.this[0].broker_node_group_info[0].security_groups) == toset(["sg-0brokers"]) &&
      one(aws_security_group.endpoints[0].ingress).security_groups == toset(["sg-0ccc", "sg-0brokers"])
    )
    error_message = "Brokers take IAM/TLS (9098) from their consumers, and their pollers reach the endpoints."
  }
}

run "a_new_cluster_and_an_existing_cluster_arn_together_are_refused" {
  command = plan

  variables {
    new_msk_cluster = {}
  }

  expect_failures = [var.kafka]
}

run "a_broker_count_that_does_not_fill_every_subnet_is_refused" {
  command = plan

  variables {
    new_msk_cluster = { number_of_broker_nodes = 3 }
    kafka = {
      type               = "msk"
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe"
      subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
  }

  expect_failures = [aws_msk_cluster.this]
}

run "endpoints_without_a_vpc_id_are_refused" {
  command = plan

  variables {
    kafka = {
      type               = "msk"
      cluster_arn        = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
      topic              = "camera-images"
      default_tenant     = "cameras"
      consumer_group_id  = "imgpipe"
      subnet_ids         = ["subnet-0aaa"]
      security_group_ids = ["sg-0ccc"]
    }
  }

  expect_failures = [var.kafka]
}

run "the_trigger_invokes_the_live_alias_of_a_published_version" {
  command = plan

  override_resource {
    target          = module.function.aws_lambda_alias.live
    override_during = plan
    values = {
      arn = "arn:aws:lambda:us-east-1:123456789012:function:imgpipe-test-kafka_ingest:live"
    }
  }

  assert {
    condition = (
      module.function.lambda_function.publish && module.function.lambda_alias.name == "live" &&
      module.function.lambda_alias.function_version == module.function.lambda_function.version &&
      aws_lambda_event_source_mapping.kafka[0].function_name == module.function.lambda_alias.arn
    )
    error_message = "The event source invokes the live alias (the version the last apply published), never $LATEST: a rollback is one alias update."
  }
}

run "a_source_without_a_tenant_is_refused_and_the_map_reaches_the_function" {
  command = plan

  assert {
    condition = (
      module.function.lambda_function.environment[0].variables.DEFAULT_TENANT == "cameras" &&
      module.function.lambda_function.environment[0].variables.SOURCE_TENANTS_JSON == "{}"
    )
    error_message = "The function learns each record's tenant from the module's configuration."
  }
}

run "rejects_a_kafka_source_with_no_tenant" {
  command = plan

  variables {
    kafka = {
      type               = "msk"
      cluster_arn        = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
      topic              = "camera-images"
      consumer_group_id  = "imgpipe-kafka-ingest"
      subnet_ids         = ["subnet-0aaa", "subnet-0bbb"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
    }
  }

  expect_failures = [var.kafka]
}

run "each_source_may_stage_claim_checks_in_its_own_folder_only" {
  command = plan

  variables {
    kafka = {
      type               = "msk"
      cluster_arn        = "arn:aws:kafka:us-east-1:123456789012:cluster/images/0a1b2c3d-4e5f-6789-abcd-ef0123456789-2"
      topic              = "camera-images"
      consumer_group_id  = "imgpipe-kafka-ingest"
      subnet_ids         = ["subnet-0aaa"]
      security_group_ids = ["sg-0ccc"]
      vpc_id             = "vpc-0abc"
      source_tenants     = { "camera-1" = "cameras", "partner-*" = "partners" }
      default_tenant     = "cameras"
    }
  }

  assert {
    condition     = toset(keys(output.claim_check_producer_policies)) == toset(["camera-1", "camera-images"])
    error_message = "One producer policy per exact source-id, plus the topic's for records without one; none for a prefix pattern."
  }

  assert {
    condition = alltrue([
      for source, policy in output.claim_check_producer_policies :
      jsondecode(policy).Statement[0].Resource == "arn:aws:s3:::imgpipe-test-raw-123456789012/staging/${source}/*" &&
      jsondecode(policy).Statement[0].Action == ["s3:PutObject"] &&
      jsondecode(policy).Statement[0].Condition.StringEquals["s3:x-amz-server-side-encryption-aws-kms-key-id"] == var.kms_key_arn
    ])
    error_message = "A producer may only put objects into its own staging folder, encrypted with the environment's key."
  }

  assert {
    condition = alltrue([
      for policy in output.claim_check_producer_policies :
      jsondecode(policy).Statement[1].Action == ["kms:GenerateDataKey"] && jsondecode(policy).Statement[1].Resource == var.kms_key_arn &&
      jsondecode(policy).Statement[1].Condition.StringEquals["kms:ViaService"] == "s3.us-east-1.amazonaws.com"
    ])
    error_message = "A producer may use the environment key only through S3, and only to encrypt."
  }
}
