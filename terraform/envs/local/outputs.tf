# The env's single output, read by scripts and tests with `terraform output -json pipeline`: an object with the
# outputs of modules/pipeline (region, name_prefix, retention_days, lambda_architecture, kms_key_arn, ...).
output "pipeline" {
  description = "Everything this environment deployed (the outputs of modules/pipeline)."
  value       = module.pipeline
}

output "perimeter" {
  description = "Who besides the pipeline's roles reaches its data (modules/pipeline's perimeter output), on its own so that a saved plan shows it before apply: python -m scripts.ops.authz --plan reads it."
  value       = module.pipeline.perimeter
}
