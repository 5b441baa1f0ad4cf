#!/usr/bin/env bash
# Pins a build tool's Linux release sums in ci/tool-checksums.sha256 (run on a machine that reaches the vendor):
#   ci/pin-tools.sh terraform 1.12.0      ci/pin-tools.sh tflint 0.55.1
# It prints what it adds; check the sums against a second source (the vendor's signed SUMS file, its Homebrew
# formula) before committing them.
set -euo pipefail
tool=${1:?usage: ci/pin-tools.sh terraform|tflint VERSION}
version=${2:?usage: ci/pin-tools.sh terraform|tflint VERSION}
pinned=${TOOL_CHECKSUMS:-$(dirname "$0")/tool-checksums.sha256}
fetch() { curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 "$1"; }
case "$tool" in
  terraform)
    sums=$(fetch "https://releases.hashicorp.com/terraform/$version/terraform_${version}_SHA256SUMS")
    lines=$(awk -v v="$version" '$2 == "terraform_"v"_linux_amd64.zip" || $2 == "terraform_"v"_linux_arm64.zip"' <<<"$sums") ;;
  tflint)
    sums=$(fetch "https://github.com/terraform-linters/tflint/releases/download/v$version/checksums.txt")
    lines=$(awk -v v="$version" '$2 ~ /^tflint_linux_(amd64|arm64)\.zip$/ {sub(/^tflint_/, "tflint_"v"_", $2); print $1"  "$2}' <<<"$sums") ;;
  *) echo "pin-tools: unknown tool $tool (terraform or tflint)" >&2; exit 2 ;;
esac
[ "$(wc -l <<<"$lines")" -eq 2 ] || { echo "pin-tools: expected the linux amd64 and arm64 sums, got: $lines" >&2; exit 1; }
echo "$lines" | tee -a "$pinned"
