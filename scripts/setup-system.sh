#!/usr/bin/env bash
# Installs what the test suite needs on a Debian/Ubuntu machine, then the npm dependencies.
# Idempotent and quick when everything is already there (no apt, no npm).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# package -> a command it provides (PostgreSQL's server binaries are not on PATH on Debian)
missing=()
have() { command -v "$1" >/dev/null 2>&1; }
have_pg_server() { compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || have initdb; }

have_pg_server || missing+=(postgresql)
{ have psql && have pg_dump && have pg_restore; } || missing+=(postgresql-client)
have sqlite3 || missing+=(sqlite3)
{ have mariadbd || [ -x /usr/sbin/mariadbd ]; } || missing+=(mariadb-server)
{ have mariadb && have mariadb-dump; } || missing+=(mariadb-client)
have tar || missing+=(tar)
have zstd || missing+=(zstd)
have pigz || missing+=(pigz)
have age || missing+=(age)
have ps || missing+=(procps)
have openssl || missing+=(openssl)
# libfaketime: CI reruns the clock-sensitive suites a year ahead (npm run test:clock).
have faketime || missing+=(faketime)
# tmux: the vaultra tui tests drive the console in a real terminal (send-keys, capture-pane).
have tmux || missing+=(tmux)
# zstd-napi (chunk compression) builds its native addon with node-gyp when npm installs it.
{ have g++ && have make && have python3; } || missing+=(g++ make python3)
# The Lambda layer (layers/build.sh) reads ELF headers with readelf; its test makes a foreign
# root with debootstrap (scripts/setup-layer-root.sh). patchelf comes pinned in layers/packages.lock.
have readelf || missing+=(binutils)
have debootstrap || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "system packages: all present"
else
  if ! have apt-get; then
    echo "system packages: no apt-get here; install these yourself: ${missing[*]}" >&2
    exit 1
  fi
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif have sudo; then
    sudo=(sudo)
  else
    echo "system packages: not root and no sudo; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  # The suite starts its own throwaway clusters; on CI skip Debian's default cluster on 5432.
  if [ "${CI:-}" = "true" ] && [[ " ${missing[*]} " == *" postgresql "* ]]; then
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/vaultra-ci.conf >/dev/null
  fi
  echo "system packages: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "system packages: installed ${missing[*]}"
fi

# MongoDB has no Debian package: a wire-compatible server and the official tools, built from source.
bash scripts/setup-mongo.sh
# mongo-java-server: the one MongoDB-compatible server here with an oplog (the oplog tests).
bash scripts/setup-mongo-java-server.sh
# The OpenTelemetry Collector the telemetry tests export to (OTLP in, JSON files out), built from
# the Go module proxy: ~1 min of CPU on a fresh machine (~5 min wall on a loaded 2-core one), instant once built.
bash scripts/setup-otel-collector.sh
# Cloud emulators for the storage, catalog, key and secret adapters.
bash scripts/setup-aws.sh
bash scripts/setup-gcp.sh
bash scripts/setup-azure.sh
# The OpenTelemetry Collector with the components docs/observability/otel-collector.yaml uses
# (contrib's Prometheus exporters), built from the Go module proxy: ~12 min wall on a loaded
# 2-core machine with a cold Go cache, ~25 s with a warm one, instant once built.
bash scripts/setup-otelcol-vaultra.sh
# Prometheus's reference text-format parser (the Python client's): checks what `vaultra status --prometheus` prints.
python3 -c 'import prometheus_client' 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check prometheus_client==0.26.0

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "npm: npm ci"
  npm ci --no-audit --no-fund
else
  echo "npm: node_modules up to date"
fi
