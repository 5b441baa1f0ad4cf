#!/usr/bin/env bash
# The image stage's build (ci/buildspec-image.yml): build and push the worker image of this commit unless the
# repository already has it (its tags are immutable), then print its reference by digest on stdout,
# <repository URI>@sha256:<digest>, which the environments run. Progress goes to stderr.
#
#   REPOSITORY_URI=<account>.dkr.ecr.<region>.amazonaws.com/<name> CODEBUILD_RESOLVED_SOURCE_VERSION=<commit> \
#     bash ci/build-worker-image.sh          (after `make package ARCH=arm64` and a docker login)
set -euo pipefail

: "${REPOSITORY_URI:?REPOSITORY_URI is not set}"
: "${CODEBUILD_RESOLVED_SOURCE_VERSION:?CODEBUILD_RESOLVED_SOURCE_VERSION is not set}"
tag="$CODEBUILD_RESOLVED_SOURCE_VERSION"
repository="${REPOSITORY_URI#*/}"
manifest="dist/lambda/manifest.json"
[[ -f "$manifest" ]] || { echo "error: $manifest is missing: run make package ARCH=arm64 first" >&2; exit 2; }
package="dist/lambda/$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["image_processor"]["zip"])' "$manifest")"
arch="$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["image_processor"]["arch"])' "$manifest")"
[[ "$arch" == "arm64" ]] || { echo "error: $package is built for $arch; the workers run arm64" >&2; exit 2; }

pushed_digest() {
  aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$tag" \
    --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true
}

digest="$(pushed_digest)"
if [[ "$digest" == sha256:* ]]; then
  echo "worker image: $REPOSITORY_URI:$tag is in the repository already" >&2
else
  echo "worker image: building $REPOSITORY_URI:$tag from $package" >&2
  docker build --platform linux/arm64 --build-arg "PACKAGE=$package" \
    -f containers/image_processor/Dockerfile -t "$REPOSITORY_URI:$tag" . >&2
  docker push "$REPOSITORY_URI:$tag" >&2
  digest="$(pushed_digest)"
fi
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "error: the repository has no digest for $REPOSITORY_URI:$tag" >&2; exit 1; }
echo "$REPOSITORY_URI@$digest"
