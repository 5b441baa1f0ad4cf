locals {
  raw_objects_arn = "${var.raw_bucket_arn}/${var.raw_prefix}*"

  # Each function's own statements; the module adds WriteOwnLogs (its log group) and WriteTraces (X-Ray, whose
  # "*" is the only one in the function policies: trace submission has no resource-level permissions).
  function_statements = {
    upload_api = [
      {
        # Direct uploads (PUT) and presigned POSTs (signed with this role's credentials) write raw objects.
        Sid      = "WriteRawObjects"
        Effect   = "Allow"
        Action   = ["s3:PutObject"]
        Resource = local.raw_objects_arn
      },
      {
        # Every version of an image's raw object: a direct upload whose item cannot be written (compensating
        # delete), and DELETE /v1/images/{id} (imgpipe.purge).
        Sid      = "DeleteRawObjects"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:DeleteObjectVersion"]
        Resource = local.raw_objects_arn
      },
      {
        # A purge lists the versions of the one key it removes; listing is limited to the raw prefix.
        Sid      = "ListRawObjectVersionsUnderPrefix"
        Effect   = "Allow"
        Action   = ["s3:ListBucketVersions"]
        Resource = var.raw_bucket_arn
        Condition = {
          StringLike = { "s3:prefix" = ["${var.raw_prefix}*"] }
        }
      },
      {
        # GET /v1/images/{id} returns presigned GET links to renditions, signed with this role's credentials.
        Sid      = "ReadProcessedObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${var.processed_bucket_arn}/*"
      },
      {
        # DELETE /v1/images/{id}: every version of each rendition, found by listing under the renditions prefix.
        Sid      = "PurgeRenditions"
        Effect   = "Allow"
        Action   = ["s3:DeleteObjectVersion"]
        Resource = "${var.processed_bucket_arn}/${var.processed_prefix}*"
      },
      {
        Sid      = "ListRenditionVersionsUnderPrefix"
        Effect   = "Allow"
        Action   = ["s3:ListBucketVersions"]
        Resource = var.processed_bucket_arn
        Condition = {
          StringLike = { "s3:prefix" = ["${var.processed_prefix}*"] }
        }
      },
      {
        Sid      = "ReadWriteImageMetadata"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query"]
        Resource = [var.table_arn, "${var.table_arn}/index/*"]
      },
      {
        # DELETE /v1/images/{id}: the item, after its objects (conditional on its tenant and status). The table
        # only: an index has no items of its own to delete.
        Sid      = "DeleteImageMetadata"
        Effect   = "Allow"
        Action   = ["dynamodb:DeleteItem"]
        Resource = var.table_arn
      },
      {
        # Powertools idempotency records for retried PUT /v1/images with an Idempotency-Key header.
        Sid      = "ReadWriteIdempotencyRecords"
        Effect   = "Allow"
        Action   = ["dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
        Resource = aws_dynamodb_table.idempotency.arn
      },
      {
        # SSE-KMS writes (data keys) and reads of CMK-encrypted objects and items, and Lambda's decryption of the
        # function's CMK-encrypted environment at cold start.
        Sid      = "UseEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:GenerateDataKey", "kms:Decrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = [for s in ["s3", "dynamodb", "lambda"] : "${s}.${local.region}.${local.dns_suffix}"] }
        }
      },
      {
        # Pagination cursors are authenticated with a MAC whose key stays in KMS (imgpipe.cursors).
        Sid      = "SignAndVerifyCursors"
        Effect   = "Allow"
        Action   = ["kms:GenerateMac", "kms:VerifyMac"]
        Resource = var.cursor_key_arn
      },
    ]

    api_authorizer = [
      {
        # One key's record at a time, by its id: never a scan, never a write.
        Sid      = "ReadKeyRecords"
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem"]
        Resource = aws_dynamodb_table.api_keys.arn
      },
      {
        Sid      = "ReadKeyPepper"
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = aws_secretsmanager_secret.api_key_pepper.arn
      },
      {
        # Decrypt only through DynamoDB (the key table), Secrets Manager (the pepper) and Lambda, which decrypts
        # the function's own CMK-encrypted environment with the execution role at cold start. Never directly.
        Sid      = "DecryptKeyRecordsPepperAndEnvironment"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = {
            "kms:ViaService" = [
              "dynamodb.${local.region}.${local.dns_suffix}",
              "secretsmanager.${local.region}.${local.dns_suffix}",
              "lambda.${local.region}.${local.dns_suffix}",
            ]
          }
        }
      },
    ]
  }
}

################################################################################
# Account-level CloudWatch role for API Gateway (opt-in: it is shared by every REST API of the account/region)
################################################################################

resource "aws_iam_role" "apigateway_cloudwatch" {
  count = var.manage_apigateway_account_logging_role ? 1 : 0

  name        = "${var.name_prefix}-apigateway-cloudwatch"
  description = "API Gateway account setting: writes execution and access logs of every REST API in ${local.region}"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = merge(var.tags, { Name = "${var.name_prefix}-apigateway-cloudwatch" })
}

# The AWS managed policy: the role serves every API of the account, so it cannot be limited to this module's
# log groups.
resource "aws_iam_role_policy_attachment" "apigateway_cloudwatch" {
  count = var.manage_apigateway_account_logging_role ? 1 : 0

  role       = aws_iam_role.apigateway_cloudwatch[0].name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

resource "aws_api_gateway_account" "this" {
  count = var.manage_apigateway_account_logging_role ? 1 : 0

  cloudwatch_role_arn = aws_iam_role.apigateway_cloudwatch[0].arn

  depends_on = [aws_iam_role_policy_attachment.apigateway_cloudwatch]
}
