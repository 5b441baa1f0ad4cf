# Browsers send an image straight to the raw bucket with the presigned POST form that POST /v1/uploads returns
# (#21's web app). The app's origins may POST there and do nothing else: no GET, no PUT, no other bucket. With no
# origin there is no CORS configuration at all, and S3 refuses every cross-origin preflight.
resource "aws_s3_bucket_cors_configuration" "raw" {
  count = length(var.cors_allowed_origins) > 0 ? 1 : 0

  bucket = aws_s3_bucket.this["raw"].bucket

  cors_rule {
    id              = "presigned-post-from-the-web-app"
    allowed_methods = ["POST"]
    allowed_origins = var.cors_allowed_origins
    # The form's fields (key, policy, signature, content type) travel in the multipart body, so the request
    # needs no header beyond those CORS always allows; the app reads nothing from S3's answer but its status.
    max_age_seconds = 600
  }
}
