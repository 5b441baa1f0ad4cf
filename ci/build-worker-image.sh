#!/usr/bin/env bash
# The image stage's build (ci/buildspec-image.yml): build and push the worker image of this commit, for arm64 and
# amd64, unless the repository already has it (its tags are immutable), then print its reference by digest on
# stdout, <repository URI>@sha256:<digest> of the image index, which the environments run: ECS pulls the variant
# of the task definition's architecture. Progress goes to stderr.
#
#   REPOSITORY_URI=<account>.dkr.ecr.<region>.amazonaws.com/<name> CODEBUILD_RESOLVED_SOURCE_VERSION=<commit> \
#     bash ci/build-worker-image.sh
#   (after `make package ARCH=arm64 OUT=dist/lambda-arm64`, `make package ARCH=x86_64 OUT=dist/lambda-x86_64`
#   and a docker login)
#
# Each architecture is built and pushed under <commit>-<arch>, then the index under <commit>: a run that stopped
# half-way is finished by the next one, which finds what was pushed already.
set -euo pipefail

: "${REPOSITORY_URI:?REPOSITORY_URI is not set}"
: "${CODEBUILD_RESOLVED_SOURCE_VERSION:?CODEBUILD_RESOLVED_SOURCE_VERSION is not set}"
tag="$CODEBUILD_RESOLVED_SOURCE_VERSION"
repository="${REPOSITORY_URI#*/}"
declare -A docker_arch=([arm64]=arm64 [x86_64]=amd64)  # Lambda's architecture names, then Docker's

pushed_digest() {  # the digest the repository holds for tag $1, or nothing
  aws ecr describe-images --repository-name "$repository" --image-ids "imageTag=$1" \
    --query 'imageDetails[0].imageDigest' --output text 2>/dev/null || true
}

# Both packages are checked before anything is built: an image index never lacks an architecture.
for arch in arm64 x86_64; do
  manifest="dist/lambda-$arch/manifest.json"
  [[ -f "$manifest" ]] || {
    echo "error: $manifest is missing: run make package ARCH=$arch OUT=dist/lambda-$arch first" >&2
    exit 2
  }
  read -r zip built_for < <(python3 -c 'import json, sys; p = json.load(open(sys.argv[1]))["image_processor"]
print(p["zip"], p["arch"])' "$manifest")
  [[ "$built_for" == "$arch" ]] || { echo "error: dist/lambda-$arch/$zip is built for $built_for, not $arch" >&2; exit 2; }
  mkdir -p "dist/image/${docker_arch[$arch]}"
  cp "dist/lambda-$arch/$zip" "dist/image/${docker_arch[$arch]}/image_processor.zip"
done

digest="$(pushed_digest "$tag")"
if [[ "$digest" == sha256:* ]]; then
  echo "worker image: $REPOSITORY_URI:$tag is in the repository already" >&2
else
  variants=()
  for arch in arm64 x86_64; do
    platform="${docker_arch[$arch]}"
    variants+=("$REPOSITORY_URI:$tag-$platform")
    if [[ "$(pushed_digest "$tag-$platform")" == sha256:* ]]; then
      echo "worker image: $REPOSITORY_URI:$tag-$platform is in the repository already" >&2
      continue
    fi
    echo "worker image: building $REPOSITORY_URI:$tag-$platform from the $arch package" >&2
    docker build --platform "linux/$platform" -f containers/image_processor/Dockerfile \
      -t "$REPOSITORY_URI:$tag-$platform" . >&2
    docker push "$REPOSITORY_URI:$tag-$platform" >&2
  done
  echo "worker image: $REPOSITORY_URI:$tag, the index of ${variants[*]}" >&2
  docker manifest create "$REPOSITORY_URI:$tag" "${variants[@]}" >&2
  docker manifest push "$REPOSITORY_URI:$tag" >&2
  digest="$(pushed_digest "$tag")"
fi
[[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]] || { echo "error: the repository has no digest for $REPOSITORY_URI:$tag" >&2; exit 1; }
echo "$REPOSITORY_URI@$digest"
