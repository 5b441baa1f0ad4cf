# The delivery pipelines, one per environment (modules/cicd). A root of its own, with its own state, so that no
# pipeline's apply stage can change the pipeline that runs it.
module "cicd" {
  source   = "../../modules/cicd"
  for_each = var.environments

  name_prefix        = "${var.project}-${each.key}"
  environment        = each.key
  repository         = var.repository
  state              = each.value.state
  manual_approval    = each.value.manual_approval
  approval_topic_arn = each.value.approval_topic_arn
  terraform_version  = var.terraform_version
}
