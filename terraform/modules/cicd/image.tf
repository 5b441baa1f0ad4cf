################################################################################
# The container workers' image (modules/workers): one repository, filled by the image stage
################################################################################

# Tags are the commits the images were built from and never move (IMMUTABLE); the environments run an image by
# its digest, which the image stage hands to the plan stage.
resource "aws_ecr_repository" "worker" {
  name                 = local.worker_repository
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  # ECR's own key: the environments' execution roles pull without a grant on this pipeline's key.
  encryption_configuration {
    encryption_type = "KMS"
  }

  tags = merge(var.tags, { Name = local.worker_repository })
}

resource "aws_ecr_lifecycle_policy" "worker" {
  repository = aws_ecr_repository.worker.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Layers of interrupted pushes (untagged) go after a day."
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "The newest ${var.worker_images_kept} images are kept: enough to roll back to any recent apply."
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.worker_images_kept }
        action       = { type = "expire" }
      },
    ]
  })
}
