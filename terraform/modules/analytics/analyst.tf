################################################################################
# Read-only analyst role (optional)
################################################################################

resource "aws_iam_role" "analyst" {
  count = length(var.analyst_principal_arns) > 0 ? 1 : 0

  name = "${var.name_prefix}-analyst"
  # The workgroup is named from the prefix, not read from its resource: the key policy names this role, and the
  # workgroup is encrypted with that key (a reference would make a cycle).
  description          = "Read-only BI over the metadata exports (Athena workgroup ${var.name_prefix}-analytics)"
  max_session_duration = 3600
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = var.analyst_principal_arns }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "analyst" {
  count = length(var.analyst_principal_arns) > 0 ? 1 : 0

  name = "${var.name_prefix}-analyst-read-only"
  role = aws_iam_role.analyst[0].name
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "QueryInTheWorkgroup"
        Effect   = "Allow"
        Action   = ["athena:StartQueryExecution", "athena:GetQueryExecution", "athena:GetQueryResults", "athena:StopQueryExecution", "athena:GetWorkGroup", "athena:ListNamedQueries", "athena:GetNamedQuery", "athena:BatchGetNamedQuery"]
        Resource = aws_athena_workgroup.this.arn
      },
      {
        Sid    = "ReadTheCatalog"
        Effect = "Allow"
        Action = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
        Resource = [
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:catalog",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:database/${local.database_name}",
          "arn:${local.partition}:glue:${local.region}:${local.account_id}:table/${local.database_name}/*",
        ]
      },
      {
        Sid      = "ReadExports"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "${local.analytics_arn}/${local.export_prefix}*"
      },
      {
        Sid       = "ListExports"
        Effect    = "Allow"
        Action    = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource  = local.analytics_arn
        Condition = { StringLike = { "s3:prefix" = ["${local.export_prefix}*"] } }
      },
      {
        Sid      = "OwnQueryResults"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
        Resource = "${local.results_arn}/results/*"
      },
      {
        Sid      = "ListQueryResults"
        Effect   = "Allow"
        Action   = ["s3:ListBucket", "s3:GetBucketLocation"]
        Resource = local.results_arn
      },
      {
        # Exports and query results, read and written by Athena and S3 on the analyst's behalf: never directly.
        Sid      = "UseEnvironmentKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
        Condition = {
          StringEquals = { "kms:ViaService" = [for s in ["s3", "athena", "glue"] : "${s}.${local.region}.${local.dns_suffix}"] }
        }
      },
    ]
  })
}
