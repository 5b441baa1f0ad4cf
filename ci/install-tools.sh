#!/usr/bin/env bash
# Installs the pinned build tools into INSTALL_DIR (default /usr/local/bin): Terraform $TERRAFORM_VERSION (always)
# and tflint $TFLINT_VERSION (when set). Each download is checked against the SHA-256 pinned in this repository
# (ci/tool-checksums.sha256, or TOOL_CHECKSUMS) before anything is unpacked: sums fetched from the same origin
# as the binaries would prove nothing against a compromised origin. A tool not pinned there is refused, unless
# TRUST_VENDOR_SUMS names it (the test stage, which holds no AWS rights, for tflint until it is pinned): then
# the vendor's published sums are used, with a warning. A tool already installed at its version is kept.
# Pin a new version on a connected machine: ci/pin-tools.sh. Used by ci/buildspec-*.yml.
set -euo pipefail

install_dir=${INSTALL_DIR:-/usr/local/bin}
pinned=${TOOL_CHECKSUMS:-$(dirname "$0")/tool-checksums.sha256}
: "${TERRAFORM_VERSION:?set TERRAFORM_VERSION (the CodeBuild project does)}"
case "$(uname -m)" in
  x86_64 | amd64) arch=amd64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "install-tools: unsupported machine $(uname -m)" >&2; exit 1 ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fetch_verified TOOL URL SUMS_URL FILE [PIN_NAME]: downloads URL to FILE and fails unless its SHA-256 is the one
# pinned here for PIN_NAME (default FILE; tflint's file names carry no version, so its pins do), or, for a tool
# named in TRUST_VENDOR_SUMS and not pinned, the one SUMS_URL publishes for FILE.
fetch_verified() {
  local tool=$1 url=$2 sums_url=$3 file=$4 pin_name=${5:-$4} expected
  expected=$(awk -v f="$pin_name" '$1 !~ /^#/ && ($2 == f || $2 == "*"f) {print $1}' "$pinned" 2>/dev/null || true)
  if [ -z "$expected" ]; then
    case " ${TRUST_VENDOR_SUMS:-} " in
      *" $tool "*)
        echo "install-tools: warning: $pin_name has no SHA-256 pinned in $pinned; trusting the sums published beside it" >&2
        curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 -o "$work/SUMS" "$sums_url"
        expected=$(awk -v f="$file" '$2 == f || $2 == "*"f {print $1}' "$work/SUMS")
        [ -n "$expected" ] || { echo "install-tools: $file is not listed in $sums_url" >&2; return 1; } ;;
      *)
        echo "install-tools: $pin_name has no SHA-256 pinned in $pinned: pin it with ci/pin-tools.sh (refusing to install it)" >&2
        return 1 ;;
    esac
  fi
  curl --fail --silent --show-error --location --proto '=https' --tlsv1.2 -o "$work/$file" "$url"
  if [ "$(sha256sum "$work/$file" | cut -d' ' -f1)" != "$expected" ]; then
    echo "install-tools: $file does not match its SHA-256 ($expected): refusing to install it" >&2
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
  fetch_verified terraform "$base/$zip" "$base/terraform_${TERRAFORM_VERSION}_SHA256SUMS" "$zip"
  install_binary "$zip" terraform
  echo "install-tools: terraform $TERRAFORM_VERSION installed in $install_dir (sha256 verified)"
fi

if [ -n "${TFLINT_VERSION:-}" ]; then
  if [ -x "$install_dir/tflint" ] && "$install_dir/tflint" --version | head -1 | grep -q "version $TFLINT_VERSION\$"; then
    echo "install-tools: tflint $TFLINT_VERSION already installed"
  else
    base="https://github.com/terraform-linters/tflint/releases/download/v$TFLINT_VERSION"
    zip="tflint_linux_${arch}.zip"
    fetch_verified tflint "$base/$zip" "$base/checksums.txt" "$zip" "tflint_${TFLINT_VERSION}_linux_${arch}.zip"
    install_binary "$zip" tflint
    echo "install-tools: tflint $TFLINT_VERSION installed in $install_dir (sha256 verified)"
  fi
fi
