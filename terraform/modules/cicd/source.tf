################################################################################
# CodeCommit sources: a push to the branch starts the pipeline (connections detect changes themselves)
################################################################################

resource "aws_cloudwatch_event_rule" "push" {
  count = local.codestar ? 0 : 1

  name        = "${local.name}-push"
  description = "${local.name}: start the pipeline on a push to ${var.repository.branch}"
  event_pattern = jsonencode({
    source      = ["aws.codecommit"]
    detail-type = ["CodeCommit Repository State Change"]
    resources   = [local.codecommit_arn]
    detail = {
      event         = ["referenceCreated", "referenceUpdated"]
      referenceType = ["branch"]
      referenceName = [var.repository.branch]
    }
  })

  tags = var.tags
}

resource "aws_iam_role" "push" {
  count = local.codestar ? 0 : 1

  name = "${local.name}-push"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "events.${local.dns_suffix}" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })

  tags = merge(var.tags, { Name = "${local.name}-push" })
}

resource "aws_iam_role_policy" "push" {
  count = local.codestar ? 0 : 1

  name = "${local.name}-push"
  role = aws_iam_role.push[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["codepipeline:StartPipelineExecution"]
      Resource = [aws_codepipeline.this.arn]
    }]
  })
}

resource "aws_cloudwatch_event_target" "push" {
  count = local.codestar ? 0 : 1

  rule     = aws_cloudwatch_event_rule.push[0].name
  arn      = aws_codepipeline.this.arn
  role_arn = aws_iam_role.push[0].arn
}
