#!/usr/bin/env bash
# Builds the OpenTelemetry Collector the telemetry tests export to (test/support/otel-collector.ts):
# the OTLP receiver (gRPC and HTTP) and the file exporter (OTLP JSON lines), nothing else, from
# the Go module proxy (no collector package is reachable from Debian, npm or PyPI here).
# scripts/otel-collector/main.go is what the collector's builder (ocb) would generate for these
# two components; the go.mod is made here, pinned, so the repository carries no go.sum.
# Idempotent: quick (no Go, no network) when the pinned build is already on PATH.
#
# Pins: every collector module at one release. The file exporter (contrib) passes at v0.161.0
# and not at the newest releases; core v0.161.0 goes with the stable modules at v1.67.0.
#
# Environment: VAULTRA_OTELCOL_BIN (install folder; default /usr/local/bin as root, else ~/.local/bin).
set -euo pipefail

RELEASE=v0.161.0
STABLE=v1.67.0
# Shown by `vaultra-otelcol --version`; bump it when main.go or the pins change.
BUILD=0.161.0-vaultra-3

if [ -n "${VAULTRA_OTELCOL_BIN:-}" ]; then
  bin=$VAULTRA_OTELCOL_BIN
elif [ "$(id -u)" -eq 0 ]; then
  bin=/usr/local/bin
else
  bin=$HOME/.local/bin
fi

out=$("$bin/vaultra-otelcol" --version 2>/dev/null || true)
if [[ "$out" == *"$BUILD"* ]]; then
  echo "otel collector: $bin/vaultra-otelcol $BUILD already built"
  exit 0
fi

command -v go >/dev/null || { echo "otel collector: go is missing: install Go >= 1.24 (Debian 12's golang-go is too old)" >&2; exit 1; }
# A static binary, with the Go that is installed (no toolchain download).
export CGO_ENABLED=0 GOTOOLCHAIN=local
src=$(mktemp -d)
trap 'rm -rf "$src"' EXIT
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sed "s/Version: \"[^\"]*\"/Version: \"$BUILD\"/" "$here/otel-collector/main.go" > "$src/main.go"
cd "$src"
go mod init vaultra-otelcol >/dev/null 2>&1
# go get lists every module it adds on stderr: kept in a log, shown only when it fails.
go get \
  "go.opentelemetry.io/collector/otelcol@$RELEASE" \
  "go.opentelemetry.io/collector/receiver/otlpreceiver@$RELEASE" \
  "github.com/open-telemetry/opentelemetry-collector-contrib/exporter/fileexporter@$RELEASE" \
  "go.opentelemetry.io/collector/confmap/provider/fileprovider@$STABLE" >"$src/go.log" 2>&1 || { tail -20 "$src/go.log" >&2; exit 1; }
go mod tidy >>"$src/go.log" 2>&1 || { tail -20 "$src/go.log" >&2; exit 1; }
mkdir -p "$bin"
start=$(date +%s)
go build -trimpath -ldflags='-s -w' -o "$bin/vaultra-otelcol" .
echo "otel collector: built $bin/vaultra-otelcol $BUILD in $(( $(date +%s) - start )) s"
case ":$PATH:" in *":$bin:"*) ;; *) echo "otel collector: note: $bin is not on PATH; add it" >&2 ;; esac
