# Plan-only tests with a mocked AWS provider: the web app's hosting keeps its security properties.
# (tests/unit/test_local_site.py renders the same CSP from web/site.json the local way and compares.)

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = {
      account_id = "123456789012"
      arn        = "arn:aws:iam::123456789012:user/test"
      user_id    = "AIDATESTUSER"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_data "aws_cloudfront_cache_policy" {
    defaults = {
      id = "658327ea-f89d-4fab-a63d-7e88639e58f6"
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }
}

override_resource {
  target          = aws_cloudfront_distribution.this
  override_during = plan
  values = {
    arn         = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

override_resource {
  target          = aws_cloudfront_origin_access_control.site
  override_during = plan
  values = {
    id = "E1OACEXAMPLE"
  }
}

variables {
  name_prefix      = "imgpipe-test"
  source_dir       = "../../../web"
  api_url          = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1"
  api_origin       = "https://abc123.execute-api.eu-west-1.amazonaws.com"
  upload_origin    = "https://imgpipe-test-raw.s3.eu-west-1.amazonaws.com"
  image_origin     = "https://imgpipe-test-processed.s3.eu-west-1.amazonaws.com"
  user_pool_id     = "eu-west-1_AbCdEf123"
  client_id        = "client123"
  hosted_ui_domain = "https://imgpipe-test.auth.eu-west-1.amazoncognito.com"
}

run "the_bucket_is_private_encrypted_and_read_by_this_distribution_only" {
  command = plan

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.site.block_public_acls,
      aws_s3_bucket_public_access_block.site.block_public_policy,
      aws_s3_bucket_public_access_block.site.ignore_public_acls,
      aws_s3_bucket_public_access_block.site.restrict_public_buckets,
    ])
    error_message = "The site bucket must block every form of public access."
  }
  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.site.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"
    error_message = "The site bucket must be encrypted with KMS."
  }
  assert {
    condition     = aws_kms_key.site.enable_key_rotation
    error_message = "The site key must rotate."
  }
  assert {
    condition     = aws_cloudfront_origin_access_control.site.signing_behavior == "always" && aws_cloudfront_origin_access_control.site.origin_access_control_origin_type == "s3"
    error_message = "CloudFront must sign every request to the bucket (origin access control)."
  }
  assert {
    condition     = one(aws_cloudfront_distribution.this.origin).origin_access_control_id == aws_cloudfront_origin_access_control.site.id
    error_message = "The distribution must reach the bucket through its origin access control."
  }
  assert {
    condition = alltrue([
      for s in data.aws_iam_policy_document.site_bucket.statement : s.effect == "Deny" || (
        one(s.principals).type == "Service" && one(one(s.condition).values) == "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE"
      )
    ])
    error_message = "Only this distribution may read the bucket: every Allow is CloudFront's, conditioned on the distribution's ARN."
  }
}

run "every_answer_carries_the_security_headers" {
  command = plan

  assert {
    condition     = one(aws_cloudfront_distribution.this.default_cache_behavior).viewer_protocol_policy == "redirect-to-https"
    error_message = "The app is served over HTTPS only."
  }
  assert {
    condition     = output.content_security_policy == "base-uri 'none'; connect-src 'self' https://abc123.execute-api.eu-west-1.amazonaws.com https://imgpipe-test-raw.s3.eu-west-1.amazonaws.com https://imgpipe-test.auth.eu-west-1.amazoncognito.com; default-src 'none'; form-action 'none'; frame-ancestors 'none'; img-src 'self' https://imgpipe-test-processed.s3.eu-west-1.amazonaws.com; manifest-src 'self'; script-src 'self'; style-src 'self'"
    error_message = "The CSP must allow only the app itself, the API, the two buckets' regional endpoints and the hosted UI: ${output.content_security_policy}"
  }
  assert {
    condition     = !strcontains(output.content_security_policy, "unsafe") && !strcontains(output.content_security_policy, "*")
    error_message = "No unsafe-inline, unsafe-eval or wildcard source."
  }
  assert {
    condition = alltrue([
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).strict_transport_security).access_control_max_age_sec >= 31536000,
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).strict_transport_security).include_subdomains,
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).frame_options).frame_option == "DENY",
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).referrer_policy).referrer_policy == "strict-origin-when-cross-origin",
      one(one(aws_cloudfront_response_headers_policy.security.security_headers_config).content_security_policy).override,
    ])
    error_message = "HSTS (a year or more), frame-ancestors/DENY, a strict referrer policy, and CloudFront's own headers winning."
  }
}

run "the_app_is_its_public_files_and_a_config_without_secrets" {
  command = plan

  assert {
    condition     = toset(output.files) == toset(["index.html", "app.css", "favicon.svg", "src/api.js", "src/app.js", "src/auth.js", "src/checks.js", "src/present.js", "src/queue.js", "src/retry.js", "src/upload.js"])
    error_message = "Exactly the app's public files (never its tests, tools or package.json): ${jsonencode(output.files)}"
  }
  assert {
    condition     = aws_s3_object.file["src/app.js"].content_type == "text/javascript; charset=utf-8" && aws_s3_object.file["index.html"].content_type == "text/html; charset=utf-8"
    error_message = "Modules must be served as JavaScript (browsers refuse a module of another type) and the page as HTML."
  }
  assert {
    condition     = jsondecode(aws_s3_object.config.content).signIn.mode == "hosted" && jsondecode(aws_s3_object.config.content).signIn.redirectUri == "https://d111111abcdef8.cloudfront.net/"
    error_message = "On AWS the app signs in on the hosted UI and comes back to its own URL."
  }
  assert {
    condition     = toset(keys(jsondecode(aws_s3_object.config.content))) == toset(["apiUrl", "region", "userPoolId", "clientId", "signIn"]) && jsondecode(aws_s3_object.config.content).region == "eu-west-1"
    error_message = "config.json holds the API URL and the public pool settings, nothing else."
  }
  assert {
    condition     = aws_s3_object.config.cache_control == "no-store"
    error_message = "config.json must never be cached: a redeploy changes it."
  }
}

run "a_plain_http_api_is_refused" {
  command = plan

  variables {
    api_url = "http://abc123.execute-api.eu-west-1.amazonaws.com/v1"
  }
  expect_failures = [var.api_url]
}

run "a_short_hsts_is_refused" {
  command = plan

  variables {
    hsts_max_age_seconds = 3600
  }
  expect_failures = [var.hsts_max_age_seconds]
}
