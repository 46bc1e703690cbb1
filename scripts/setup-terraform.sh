#!/usr/bin/env bash
# Installs what test/infra-terraform needs to check the Terraform modules of infra/gcp and
# infra/azure:
#   - a terraform binary (>= 1.11: infra/azure has write-only attributes): the one on PATH if it
#     is recent enough, else Terraform $TERRAFORM_VERSION from releases.hashicorp.com when
#     reachable, else built from the Go module proxy (tests: `terraform fmt -check`,
#     `terraform console` on the modules' locals);
#   - provider builds for `terraform validate` (unless --no-providers): hashicorp/google and
#     hashicorp/azurerm built from the Go module proxy, and a schema-only stand-in for
#     hashicorp/archive (test/infra-terraform/archive-stub). The tests use them through
#     dev_overrides, with no `terraform init`.
# Idempotent: quick (no Go, no network) when everything is present.
#
# Pins and traps:
#   - registry.terraform.io and releases.hashicorp.com do not resolve on the project's machines;
#     proxy.golang.org does. `go install github.com/hashicorp/terraform@v1.11.4` is refused (its
#     go.mod has replace directives), so the module is downloaded and built in a copy of its tree.
#     Its go.mod names `godebug tlskyber=0`, which Go >= 1.24 no longer knows: the line is dropped.
#     The replaced nested modules (remote-state backends, internal/legacy) are not in the module
#     zip; they come from the proxy at the pseudo-version of the v1.11.4 commit.
#   - The proxy serves no tagged release of the providers (their tags are v6.x/v8.x without a /vN
#     module path): only the pseudo-versions it has cached. google at f3721fb45fa3 is 8.0.x
#     (CHANGELOG: 8.0.0, 2026-08-26); azurerm at fae580791926 is 5.2.x (5.2.0, 2026-08-20). The
#     modules pin ~> 8.0 and ~> 5.0; dev_overrides skip version checks, so validate runs against
#     exactly these builds. Each module is checked against its pinned h1: hash.
#   - hashicorp/archive is not on the proxy at all (403), hence the stand-in: it declares the
#     `archive_file` schema of archive 2.x and cannot read or plan.
#   - Building takes a while on two cores (measured here): terraform about 2-4 minutes, google
#     about 4, azurerm 6-15; reruns with everything present take a second.
#
# Environment: VAULTRA_TERRAFORM_CACHE (default ~/.cache/vaultra/terraform): bin/terraform and
# providers/terraform-provider-{google,azurerm,archive} go there; the tests look there too.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TERRAFORM_VERSION=1.11.4
TERRAFORM_MODULE=github.com/hashicorp/terraform
TERRAFORM_SUM=h1:n5VVSuZsOLbQc9tpqny1mnd6cttyTwvEpLPVewj9UYA=
# The nested modules at the v1.11.4 commit (2025-04-09T13:10:05Z).
TERRAFORM_NESTED_VERSION=v0.0.0-20250409131005-35645b8fca68
GOOGLE_MODULE=github.com/hashicorp/terraform-provider-google
GOOGLE_VERSION=v1.20.1-0.20260828184646-f3721fb45fa3
GOOGLE_SUM=h1:2onI4HYzwHTtekjeWin7ZrO+v7S8TkFyTP+IaS2FcbQ=
AZURERM_MODULE=github.com/hashicorp/terraform-provider-azurerm
AZURERM_VERSION=v1.44.1-0.20260824201233-fae580791926
AZURERM_SUM=h1:SOgvTJZXNyxmkHHHx8ifgotbvhOi/eadVkoyBNr+4hk=

cache=${VAULTRA_TERRAFORM_CACHE:-$HOME/.cache/vaultra/terraform}
providers=1
for arg in "$@"; do
  case "$arg" in
    --no-providers) providers=0 ;;
    *) echo "usage: $0 [--no-providers]" >&2; exit 2 ;;
  esac
done

started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-terraform-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$cache/bin" "$cache/providers"

reachable() { curl -fsS -m 5 -o /dev/null "$1" 2>/dev/null; }

need_go() { # minimum minor version, what for
  if ! command -v go >/dev/null 2>&1; then
    echo "terraform: Go (>= 1.$1) is needed to build $2 and is not installed; install it from https://go.dev/dl/" >&2
    exit 1
  fi
  local minor
  minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if ! [[ "$minor" =~ ^[0-9]+$ ]] || [ "$minor" -lt "$1" ]; then
    echo "terraform: Go $(go env GOVERSION) is too old to build $2 (needs Go >= 1.$1)" >&2
    exit 1
  fi
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
}

module_dir() { # module, version, expected h1: sum (or "") → prints the module's source folder
  local json dir sum
  json=$(cd "$work" && go mod download -json "$1@$2") || true
  if [ -z "$json" ] || printf '%s' "$json" | grep -q '"Error"'; then
    echo "terraform: go mod download $1@$2 failed: $json" >&2
    exit 1
  fi
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  if [ -n "$3" ] && [ "$sum" != "$3" ]; then
    echo "terraform: $1@$2 has hash '$sum', expected $3: refusing to build it" >&2
    exit 1
  fi
  printf '%s\n' "$dir"
}

# ---- terraform ---------------------------------------------------------------------------------
terraform_ok() { # binary → true when it is terraform >= 1.11
  local version
  version=$(TF_CLI_CONFIG_FILE=/dev/null "$1" version 2>/dev/null | sed -n 's/^Terraform v\([0-9]*\)\.\([0-9]*\)\..*/\1 \2/p' | head -1)
  [ -n "$version" ] && { read -r major minor <<<"$version"; [ "$major" -gt 1 ] || [ "$minor" -ge 11 ]; }
}

if command -v terraform >/dev/null 2>&1 && terraform_ok "$(command -v terraform)"; then
  echo "terraform: $(TF_CLI_CONFIG_FILE=/dev/null terraform version | head -1) on PATH"
elif [ -x "$cache/bin/terraform" ] && terraform_ok "$cache/bin/terraform"; then
  echo "terraform: $(TF_CLI_CONFIG_FILE=/dev/null "$cache/bin/terraform" version | head -1) in $cache/bin"
else
  release=https://releases.hashicorp.com/terraform/$TERRAFORM_VERSION
  zip=terraform_${TERRAFORM_VERSION}_linux_amd64.zip
  if [ "$(uname -m)" = x86_64 ] && reachable "$release/terraform_${TERRAFORM_VERSION}_SHA256SUMS"; then
    echo "terraform: downloading Terraform $TERRAFORM_VERSION from releases.hashicorp.com"
    curl -fsSL -o "$work/$zip" "$release/$zip"
    curl -fsSL -o "$work/SHA256SUMS" "$release/terraform_${TERRAFORM_VERSION}_SHA256SUMS"
    (cd "$work" && grep " $zip\$" SHA256SUMS | sha256sum -c -)
    python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("terraform", sys.argv[2])' "$work/$zip" "$work"
    install -m 0755 "$work/terraform" "$cache/bin/terraform"
  else
    echo "terraform: releases.hashicorp.com is out of reach; building Terraform $TERRAFORM_VERSION from the Go module proxy"
    need_go 23 "terraform"
    src=$(module_dir "$TERRAFORM_MODULE" "v$TERRAFORM_VERSION" "$TERRAFORM_SUM")
    cp -R "$src" "$work/terraform"
    chmod -R u+w "$work/terraform"
    sed -i '/^godebug tlskyber=/d' "$work/terraform/go.mod"
    # Every `replace … => ./<dir>` of go.mod: a nested module the zip leaves out.
    for nested in $(sed -n 's#^replace \(github.com/hashicorp/terraform/[^ ]*\) => \./.*#\1#p' "$work/terraform/go.mod"); do
      nested_src=$(module_dir "$nested" "$TERRAFORM_NESTED_VERSION" "")
      target="$work/terraform/${nested#github.com/hashicorp/terraform/}"
      mkdir -p "$target"
      cp -R "$nested_src/." "$target/"
      chmod -R u+w "$target"
    done
    # version.dev=no: what HashiCorp's release builds set (no "-dev" in `terraform version`).
    (cd "$work/terraform" && go build -trimpath -ldflags "-s -w -X github.com/hashicorp/terraform/version.dev=no" -o "$cache/bin/terraform" .)
  fi
  terraform_ok "$cache/bin/terraform" || { echo "terraform: $cache/bin/terraform does not run" >&2; exit 1; }
  echo "terraform: installed $(TF_CLI_CONFIG_FILE=/dev/null "$cache/bin/terraform" version | head -1) into $cache/bin in $((SECONDS - started)) s"
  case ":$PATH:" in *":$cache/bin:"*) ;; *) echo "terraform: note: $cache/bin is not on PATH (the tests look there anyway)" >&2 ;; esac
fi

# ---- providers ---------------------------------------------------------------------------------
if [ "$providers" -eq 0 ]; then
  echo "terraform: --no-providers: terraform validate will be skipped (or fail under CI=true)"
  exit 0
fi
if reachable https://registry.terraform.io/.well-known/terraform.json; then
  echo "terraform: note: registry.terraform.io is reachable here: \`terraform init\` in infra/gcp or infra/azure installs the real providers"
fi

provider() { # name, module, version, sum
  local stamp="$cache/providers/terraform-provider-$1.version"
  if [ -x "$cache/providers/terraform-provider-$1" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$2@$3" ]; then
    echo "terraform: provider $1 ($2@$3) present"
    return
  fi
  # Their go.mod files ask for Go 1.26 (azurerm: 1.26.6); `go build` names the exact need.
  need_go 26 "the $1 provider"
  echo "terraform: building the $1 provider from $2@$3 (several minutes)"
  local step=$SECONDS src
  src=$(module_dir "$2" "$3" "$4")
  # Built inside the (read-only) module folder: only the build cache is written.
  (cd "$src" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$cache/providers/terraform-provider-$1" .)
  printf '%s\n' "$2@$3" >"$stamp"
  echo "terraform: built the $1 provider in $((SECONDS - step)) s"
}

provider google "$GOOGLE_MODULE" "$GOOGLE_VERSION" "$GOOGLE_SUM"
provider azurerm "$AZURERM_MODULE" "$AZURERM_VERSION" "$AZURERM_SUM"

stub=test/infra-terraform/archive-stub
if [ -x "$cache/providers/terraform-provider-archive" ] && [ "$cache/providers/terraform-provider-archive" -nt "$stub/main.go" ] && [ "$cache/providers/terraform-provider-archive" -nt "$stub/go.sum" ]; then
  echo "terraform: archive stand-in present"
else
  need_go 25 "the archive stand-in"
  (cd "$stub" && GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags "-s -w" -o "$cache/providers/terraform-provider-archive" .)
  echo "terraform: built the archive stand-in"
fi
echo "terraform: ready in $((SECONDS - started)) s ($cache)"
