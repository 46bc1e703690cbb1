#!/usr/bin/env bash
# Builds `otelcol-vaultra`, an OpenTelemetry Collector with exactly the components that
# docs/observability/otel-collector.yaml uses, from the Go module proxy with the collector's own
# builder (ocb). No collector release binary is reachable here, and the core distribution
# (otelcorecol) lacks the Prometheus exporters, which live in collector-contrib.
#
# Components: OTLP receiver (gRPC + HTTP); exporters otlp_grpc (Tempo, Jaeger), otlp_http (Loki's
# and Tempo's OTLP endpoints), prometheus (scrape endpoint), prometheus_remote_write, debug;
# processors batch, memory_limiter, resource and deltatocumulative (short-lived runner processes'
# counters summed into one series); the health_check extension.
#
# Pins: every collector module at one release (core v0.165.0 / v1.71.0 with contrib v0.165.1, as
# the proxy serves them together). Bump them together.
#
# Idempotent: quick (no Go, no network) when the pinned build is already installed.
# Environment: VAULTRA_OTELCOL_BIN (install folder; default /usr/local/bin as root, else ~/.local/bin).
set -euo pipefail

CORE=v0.165.0
CORE_STABLE=v1.71.0
CONTRIB=v0.165.1
NAME=otelcol-vaultra
# Shown by `otelcol-vaultra --version`; bump it when the component list changes.
VERSION=0.165.0-vaultra.2

if [ -n "${VAULTRA_OTELCOL_BIN:-}" ]; then
  bin=$VAULTRA_OTELCOL_BIN
elif [ "$(id -u)" -eq 0 ]; then
  bin=/usr/local/bin
else
  bin=$HOME/.local/bin
fi

if [ -x "$bin/$NAME" ] && [[ "$("$bin/$NAME" --version 2>/dev/null)" == *"$VERSION"* ]]; then
  echo "otelcol: $NAME $VERSION present in $bin"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "otelcol: Go (>= 1.24) is needed to build the collector and is not installed; install Go from https://go.dev/dl/" >&2
  exit 1
fi

mkdir -p "$bin"
work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-otelcol-build.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
export CGO_ENABLED=0 GOTOOLCHAIN=local GOBIN="$work/tools"
started=$SECONDS

echo "otelcol: building $NAME $VERSION (collector $CORE, contrib $CONTRIB)"
go install "go.opentelemetry.io/collector/cmd/builder@$CORE"
cat >"$work/manifest.yaml" <<EOF
dist:
  name: $NAME
  description: OpenTelemetry Collector for Vaultra's docs/observability/otel-collector.yaml
  version: $VERSION
  output_path: $work/dist
receivers:
  - gomod: go.opentelemetry.io/collector/receiver/otlpreceiver $CORE
exporters:
  - gomod: go.opentelemetry.io/collector/exporter/otlpexporter $CORE
  - gomod: go.opentelemetry.io/collector/exporter/otlphttpexporter $CORE
  - gomod: go.opentelemetry.io/collector/exporter/debugexporter $CORE
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusexporter $CONTRIB
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter $CONTRIB
processors:
  - gomod: go.opentelemetry.io/collector/processor/batchprocessor $CORE
  - gomod: go.opentelemetry.io/collector/processor/memorylimiterprocessor $CORE
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor $CONTRIB
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/processor/deltatocumulativeprocessor $CONTRIB
extensions:
  - gomod: github.com/open-telemetry/opentelemetry-collector-contrib/extension/healthcheckextension $CONTRIB
providers:
  - gomod: go.opentelemetry.io/collector/confmap/provider/envprovider $CORE_STABLE
  - gomod: go.opentelemetry.io/collector/confmap/provider/fileprovider $CORE_STABLE
EOF
"$work/tools/builder" --config "$work/manifest.yaml"
install -m 0755 "$work/dist/$NAME" "$bin/$NAME"
echo "otelcol: $NAME installed in $bin ($((SECONDS - started)) s)"
case ":$PATH:" in *":$bin:"*) ;; *) echo "otelcol: note: $bin is not on PATH; add it" >&2 ;; esac
