output "url" {
  description = "The app's URL (https://<distribution>.cloudfront.net): a web origin for the API's and the raw bucket's CORS, and the hosted UI's callback."
  value       = local.url
}

output "origin" {
  description = "The app's origin, as browsers send it in Origin headers."
  value       = local.url
}

output "distribution_id" {
  description = "The CloudFront distribution (for invalidations and metrics)."
  value       = aws_cloudfront_distribution.this.id
}

output "bucket_name" {
  description = "The private bucket holding the app's files."
  value       = aws_s3_bucket.site.id
}

output "content_security_policy" {
  description = "The CSP every answer carries (from web/site.json)."
  value       = local.content_security_policy
}

output "config" {
  description = "The app's config.json (no secret: the app client is public)."
  value       = local.config
}

output "files" {
  description = "The app's files uploaded to the bucket."
  value       = sort(tolist(local.files))
}
