# Credentials come from the standard AWS chain (environment, SSO profile); never from this code. Apply this
# root with an administrator: it creates the roles the pipelines deploy with.
provider "aws" {
  region              = var.region
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = {
      project    = var.project
      component  = "cicd"
      managed-by = "terraform"
    }
  }
}
