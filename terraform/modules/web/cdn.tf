# CloudFront in front of the bucket: HTTPS only, the bucket reached through origin access control (SigV4 on every
# request), and every answer with the security headers: a strict CSP naming only the API, the two buckets'
# regional endpoints and the hosted UI, HSTS, no framing, no sniffing, a strict referrer policy.

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

resource "aws_cloudfront_origin_access_control" "site" {
  name                              = "${var.name_prefix}-web"
  description                       = "imgpipe web app bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_response_headers_policy" "security" {
  #checkov:skip=CKV_AWS_259:HSTS is enforced (two years by default, subdomains, overriding the origin); only preload is off: putting a domain on browsers' preload lists is its owner's decision, not this module's.
  name = "${var.name_prefix}-web-security"

  security_headers_config {
    content_security_policy {
      content_security_policy = local.content_security_policy
      override                = true
    }
    strict_transport_security {
      access_control_max_age_sec = var.hsts_max_age_seconds
      include_subdomains         = true
      preload                    = false # preloading is a decision about the whole domain, not this app's
      override                   = true
    }
    frame_options {
      frame_option = "DENY"
      override     = true
    }
    content_type_options {
      override = true
    }
    referrer_policy {
      referrer_policy = local.site.referrer_policy
      override        = true
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_86:Standard logs need a log bucket with ACLs (CloudFront's legacy delivery); request counts and errors are in CloudWatch metrics.
  #checkov:skip=CKV_AWS_174:The default *.cloudfront.net certificate allows TLS 1.0 clients; a custom domain (ACM certificate in us-east-1) is needed to require TLS 1.2.
  #checkov:skip=CKV_AWS_310:One origin: a failover origin would be a second copy of the same files.
  #checkov:skip=CKV_AWS_374:The app serves every country its users are in; geo restriction is the operator's choice.
  #checkov:skip=CKV2_AWS_47:The Log4j rule set protects Java origins; this origin is S3 serving static files.
  #checkov:skip=CKV2_AWS_42:Same as CKV_AWS_174: a custom certificate comes with a custom domain.
  #checkov:skip=CKV_AWS_68:WAF is web_acl_arn (a CLOUDFRONT web ACL lives in us-east-1, outside this module); the static files behind it take no input.
  enabled             = true
  is_ipv6_enabled     = true
  comment             = "${var.name_prefix} web app"
  default_root_object = "index.html"
  price_class         = var.price_class
  web_acl_id          = var.web_acl_arn
  http_version        = "http2and3"
  tags                = var.tags

  origin {
    domain_name              = aws_s3_bucket.site.bucket_regional_domain_name
    origin_id                = "site"
    origin_access_control_id = aws_cloudfront_origin_access_control.site.id
  }

  default_cache_behavior {
    target_origin_id           = "site"
    viewer_protocol_policy     = "redirect-to-https"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = data.aws_cloudfront_cache_policy.optimized.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.security.id
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = true
  }
}
