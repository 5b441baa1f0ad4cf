output "pipeline_name" {
  description = "Name of the CodePipeline (V2)."
  value       = aws_codepipeline.this.name
}

output "pipeline_arn" {
  description = "ARN of the CodePipeline."
  value       = aws_codepipeline.this.arn
}

output "stages" {
  description = "The pipeline's stages in order (Approve only when manual_approval)."
  value       = [for stage in aws_codepipeline.this.stage : stage.name]
}

output "artifact_bucket_name" {
  description = "Artifact store: source, packages and saved plans, SSE-KMS with the pipeline's key, expired after artifact_retention_days."
  value       = aws_s3_bucket.artifacts.bucket
}

output "kms_key_arn" {
  description = "The pipeline's own key (artifacts and build logs)."
  value       = aws_kms_key.this.arn
}

output "role_arns" {
  description = "Role of each part: pipeline, test, plan (read-only), apply."
  value       = merge({ pipeline = aws_iam_role.pipeline.arn }, { for stage, role in aws_iam_role.build : stage => role.arn })
}

output "build_projects" {
  description = "CodeBuild project of each stage."
  value       = { for stage, project in aws_codebuild_project.stage : stage => project.name }
}

output "build_variables" {
  description = "Environment variables of each stage's build (names and plain values: no secrets are passed this way)."
  value = {
    for stage, project in aws_codebuild_project.stage :
    stage => { for v in project.environment[0].environment_variable : v.name => v.value }
  }
}

output "worker_repository" {
  description = "The container workers' ECR repository (name, ARN, URL): the image stage pushes there, the environments' workers pull from it."
  value = {
    name = aws_ecr_repository.worker.name
    arn  = aws_ecr_repository.worker.arn
    url  = aws_ecr_repository.worker.repository_url
  }
}
