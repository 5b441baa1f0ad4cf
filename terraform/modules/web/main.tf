# The web app on AWS: its files in a private, encrypted S3 bucket that only this CloudFront distribution can read
# (origin access control), served over HTTPS with the response headers of web/site.json (the file the
# local gateway serves them from, too), and the app's runtime settings as a generated config.json. No build step:
# the objects are the repository's files, so a plan shows exactly which files change.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  # What a browser may fetch and the headers it gets: web/site.json, which the local gateway reads too.
  site = jsondecode(file("${var.source_dir}/site.json"))
  # {api}, {uploads}, {images}, {sign_in} in the policy stand for these origins (web/site.json).
  csp_sources = {
    "{api}"     = var.api_origin
    "{uploads}" = var.upload_origin
    "{images}"  = var.image_origin
    "{sign_in}" = var.hosted_ui_domain
  }
  content_security_policy = join("; ", [
    for directive, values in local.site.content_security_policy :
    join(" ", concat([directive], compact([for v in values : lookup(local.csp_sources, v, v)])))
  ])

  url = "https://${aws_cloudfront_distribution.this.domain_name}"
  # What the page reads at start (web/README.md): no secret in it, the app client is public.
  config = {
    apiUrl     = var.api_url
    region     = split("_", var.user_pool_id)[0]
    userPoolId = var.user_pool_id
    clientId   = var.client_id
    signIn = {
      mode        = "hosted"
      domain      = var.hosted_ui_domain
      redirectUri = "${local.url}/"
      logoutUri   = "${local.url}/"
    }
  }

  content_types = {
    html = "text/html; charset=utf-8"
    css  = "text/css; charset=utf-8"
    js   = "text/javascript; charset=utf-8"
    svg  = "image/svg+xml"
    json = "application/json"
  }
  files = toset(flatten([for pattern in local.site.public_files : tolist(fileset(var.source_dir, pattern))]))
}
