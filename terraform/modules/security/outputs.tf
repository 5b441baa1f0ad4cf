output "trail_arn" {
  description = "ARN of the pipeline's CloudTrail trail, or null when create_trail is false."
  value       = try(aws_cloudtrail.this[0].arn, null)
}

output "trail_name" {
  description = "Name of the trail the module creates (<name_prefix>), whether or not it is created: the KMS and bucket policies name it."
  value       = local.trail_name
}

output "guardduty_detector_id" {
  description = "The GuardDuty detector created here, or null."
  value       = try(aws_guardduty_detector.this[0].id, null)
}

output "malware_protection_plan_arn" {
  description = "ARN of the GuardDuty Malware Protection plan on the raw bucket, or null."
  value       = try(aws_guardduty_malware_protection_plan.raw[0].arn, null)
}

output "malware_scan" {
  description = "What the processor must do with scan tags: required when this module scans the raw bucket, observed otherwise."
  value       = local.scanned == null ? "observed" : "required"
}

output "access_analyzer_arn" {
  description = "ARN of the account IAM Access Analyzer, or null."
  value       = try(aws_accessanalyzer_analyzer.this[0].arn, null)
}

output "malware_protection_role_arn" {
  description = "ARN of the role GuardDuty Malware Protection scans and tags raw objects with, or null (the raw bucket's perimeter and the key let it in)."
  value       = try(aws_iam_role.malware_protection[0].arn, null)
}
