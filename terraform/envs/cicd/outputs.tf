output "pipelines" {
  description = "Per environment: pipeline name and ARN, stages, artifact bucket, stage roles."
  value = {
    for env, pipeline in module.cicd : env => {
      pipeline_name        = pipeline.pipeline_name
      pipeline_arn         = pipeline.pipeline_arn
      stages               = pipeline.stages
      artifact_bucket_name = pipeline.artifact_bucket_name
      role_arns            = pipeline.role_arns
    }
  }
}
