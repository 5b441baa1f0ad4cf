################################################################################
# WAF (regional web ACL on the stage)
################################################################################

resource "aws_wafv2_web_acl" "this" {
  count = var.waf_enabled ? 1 : 0

  name        = local.api_name
  description = "${local.api_name}: managed common and known-bad-input rules, per-IP rate limit"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  custom_response_body {
    key          = "throttled"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ error = { code = "throttled", message = "too many requests from this address, retry later", request_id = "" } })
  }

  custom_response_body {
    key          = "too_large"
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ error = { code = "too_large", message = "request body too large for this route", request_id = "" } })
  }

  # First, so a flood is cut before the managed rules spend capacity on it.
  rule {
    name     = "rate-limit-per-ip"
    priority = 0

    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = "throttled"
        }
      }
    }

    statement {
      rate_based_statement {
        limit              = var.waf_rate_limit_per_5min
        aggregate_key_type = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-common-rule-set"
    priority = 10

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesCommonRuleSet"
        vendor_name = "AWS"

        # SizeRestrictions_BODY blocks every body over 8 KB, i.e. every image sent to PUT /v1/images (direct
        # uploads of up to 4 MiB). Overridden to COUNT: it only labels the request, and the rule below re-blocks
        # labelled requests on every other route. Image size itself is enforced by upload_api (4 MiB direct,
        # max_upload_bytes through presigned POSTs, which go to S3 and never pass this ACL) and by API Gateway's
        # 10 MB payload limit.
        rule_action_override {
          name = "SizeRestrictions_BODY"

          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-aws-common-rule-set"
      sampled_requests_enabled   = true
    }
  }

  # Restores SizeRestrictions_BODY everywhere except direct uploads (PUT .../v1/images): JSON bodies of
  # POST /v1/uploads are a few KB at most, so a large body there is an attack, not an image.
  rule {
    name     = "block-large-bodies-except-direct-upload"
    priority = 15

    action {
      block {
        custom_response {
          response_code            = 413
          custom_response_body_key = "too_large"
        }
      }
    }

    statement {
      and_statement {
        statement {
          label_match_statement {
            scope = "LABEL"
            key   = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
          }
        }

        statement {
          not_statement {
            statement {
              and_statement {
                statement {
                  byte_match_statement {
                    search_string         = "/v1/images"
                    positional_constraint = "ENDS_WITH"

                    field_to_match {
                      uri_path {}
                    }

                    text_transformation {
                      priority = 0
                      type     = "NONE"
                    }
                  }
                }

                statement {
                  byte_match_statement {
                    search_string         = "PUT"
                    positional_constraint = "EXACTLY"

                    field_to_match {
                      method {}
                    }

                    text_transformation {
                      priority = 0
                      type     = "NONE"
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-block-large-bodies-except-direct-upload"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "aws-known-bad-inputs"
    priority = 20

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
        vendor_name = "AWS"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${local.api_name}-aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = local.api_name
    sampled_requests_enabled   = true
  }

  tags = merge(var.tags, { Name = local.api_name })
}

resource "aws_wafv2_web_acl_association" "this" {
  count = var.waf_enabled ? 1 : 0

  resource_arn = aws_api_gateway_stage.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this[0].arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  count = var.waf_enabled ? 1 : 0

  resource_arn            = aws_wafv2_web_acl.this[0].arn
  log_destination_configs = [aws_cloudwatch_log_group.this["waf"].arn]

  # WAF logs carry request headers: the API key must never reach them, in either header it may travel in.
  redacted_fields {
    single_header {
      name = "x-api-key"
    }
  }

  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}
