################################################################################
# SCRAM credentials (self-managed Kafka), when the caller has no secret of its own
################################################################################

# The secret holds no value from Terraform (none in state or plan): the operator puts {"username","password"}
# into it once (docs/kafka.md), and a rotation function, if given, changes it and the broker's user together.
resource "aws_secretsmanager_secret" "scram" {
  count = local.own_scram ? 1 : 0

  #checkov:skip=CKV2_AWS_57:Rotation needs a function that changes the broker's user too; it is wired when kafka.scram_rotation_lambda_arn is given (aws_secretsmanager_secret_rotation.scram).
  name                    = "${var.name_prefix}/kafka-scram"
  description             = "${var.name_prefix}: SASL/SCRAM-SHA-512 credentials kafka_ingest's event source uses for ${join(",", var.kafka.bootstrap_servers)}"
  kms_key_id              = var.kms_key_arn
  recovery_window_in_days = var.scram_secret_recovery_window_days

  tags = var.tags
}

resource "aws_secretsmanager_secret_rotation" "scram" {
  count = local.own_scram && var.kafka.scram_rotation_lambda_arn != null ? 1 : 0

  #checkov:skip=CKV_AWS_304:checkov cannot read the interval from the kafka object; its validation holds it to 1-90 days (30 by default).
  secret_id           = aws_secretsmanager_secret.scram[0].id
  rotation_lambda_arn = var.kafka.scram_rotation_lambda_arn

  rotation_rules {
    automatically_after_days = var.kafka.scram_rotation_days
  }
}
