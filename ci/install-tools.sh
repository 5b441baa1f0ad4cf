#!/usr/bin/env bash
# Installs the pinned build tools into INSTALL_DIR (default /usr/local/bin), each checked against the SHA-256
# sums its vendor publishes with the release: Terraform $TERRAFORM_VERSION (always) and tflint $TFLINT_VERSION
# (when set). A tool already installed at its pinned version is kept. Used by ci/buildspec-*.yml.
set -euo pipefail

install_dir=${INSTALL_DIR:-/usr/local/bin}
: "${TERRAFORM_VERSION:?set TERRAFORM_VERSION (the CodeBuild project does)}"
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-tools: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch_verified URL SUMS_URL FILE: downloads URL and SUMS_URL, and fails unless FILE's line in the sums matches.
fetch_verified() {
  local url=$1 sums_url=$2 file=$3
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 -o "$work/$file" "$url"
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 -o "$work/SUMS" "$sums_url"
  local expected
  expected=$(awk -v f="$file" '$2 == f || $2 == "*"f {print $1}' "$work/SUMS")
  if [ -z "$expected" ]; then
    echo "install-tools: $file is not listed in $sums_url" >&2
    return 1
  fi
  if [ "$(sha256sum "$work/$file" | cut -d' ' -f1)" != "$expected" ]; then
    echo "install-tools: $file does not match its published SHA-256 ($expected): refusing to install it" >&2
    return 1
  fi
}

install_binary() {  # install_binary ZIP NAME: unpack NAME from ZIP into install_dir
  mkdir -p "$install_dir"
  unzip -o -q "$work/$1" "$2" -d "$work/unpacked"
  install -m 0755 "$work/unpacked/$2" "$install_dir/$2"
}

if [ -x "$install_dir/terraform" ] && "$install_dir/terraform" version | head -1 | grep -qx "Terraform v$TERRAFORM_VERSION"; then
  echo "install-tools: terraform $TERRAFORM_VERSION already installed"
else
  base="https://releases.hashicorp.com/terraform/$TERRAFORM_VERSION"
  zip="terraform_${TERRAFORM_VERSION}_linux_${arch}.zip"
  fetch_verified "$base/$zip" "$base/terraform_${TERRAFORM_VERSION}_SHA256SUMS" "$zip"
  install_binary "$zip" terraform
  echo "install-tools: terraform $TERRAFORM_VERSION installed in $install_dir (sha256 verified)"
fi

if [ -n "${TFLINT_VERSION:-}" ]; then
  if [ -x "$install_dir/tflint" ] && "$install_dir/tflint" --version | head -1 | grep -q "version $TFLINT_VERSION\$"; then
    echo "install-tools: tflint $TFLINT_VERSION already installed"
  else
    base="https://github.com/terraform-linters/tflint/releases/download/v$TFLINT_VERSION"
    zip="tflint_linux_${arch}.zip"
    fetch_verified "$base/$zip" "$base/checksums.txt" "$zip"
    install_binary "$zip" tflint
    echo "install-tools: tflint $TFLINT_VERSION installed in $install_dir (sha256 verified)"
  fi
fi
