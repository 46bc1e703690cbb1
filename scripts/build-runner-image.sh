#!/usr/bin/env bash
# Builds the runner image (runner/Dockerfile) on this machine and prints its tag as the LAST line
# of output (everything else goes to stderr). Starts dockerd and makes the base images first when
# needed (scripts/setup-docker.sh), then takes each input from where this machine reaches it:
#   PostgreSQL client  PGDG (pg_dump 18) when apt.postgresql.org answers, else Debian's (15)
#   MongoDB tools      MongoDB's .deb when fastdl.mongodb.org answers, else built from the Go proxy
#   builder            BuildKit when `docker buildx` is installed, else the legacy builder
# An unchanged tree rebuilds from Docker's layer cache in seconds.
#
# Environment: VAULTRA_RUNNER_IMAGE_TAG (default vaultra-runner:local),
# VAULTRA_POSTGRESQL_CLIENT_SOURCE (pgdg|debian) and VAULTRA_MONGODB_TOOLS_SOURCE (deb|go) to skip
# the probes.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

tag=${VAULTRA_RUNNER_IMAGE_TAG:-vaultra-runner:local}
log() { echo "runner image: $*" >&2; }
answers() { curl -fsS -o /dev/null --head --max-time 10 "$1" 2>/dev/null; }

# Last line: "base images: <NODE_IMAGE> <NODE_BUILD_IMAGE>".
read -r _ _ node_image node_build_image < <(bash scripts/setup-docker.sh | tail -n 1)

postgresql_source=${VAULTRA_POSTGRESQL_CLIENT_SOURCE:-}
if [ -z "$postgresql_source" ]; then
  if answers https://apt.postgresql.org/pub/repos/apt/dists/bookworm-pgdg/Release; then postgresql_source=pgdg; else postgresql_source=debian; fi
fi
mongodb_source=${VAULTRA_MONGODB_TOOLS_SOURCE:-}
if [ -z "$mongodb_source" ]; then
  if answers https://fastdl.mongodb.org/tools/db/mongodb-database-tools-debian12-x86_64-100.12.2.deb; then mongodb_source=deb; else mongodb_source=go; fi
fi

args=(
  --network host
  -f runner/Dockerfile
  -t "$tag"
  --build-arg "NODE_IMAGE=$node_image"
  --build-arg "NODE_BUILD_IMAGE=$node_build_image"
  --build-arg "POSTGRESQL_CLIENT_SOURCE=$postgresql_source"
  --build-arg "MONGODB_TOOLS_SOURCE=$mongodb_source"
)
if docker buildx version >/dev/null 2>&1; then
  builder=(docker buildx build --load); builder_name=BuildKit
else
  # The legacy builder sets no platform arguments: the build stage runs on this host's platform.
  builder=(env DOCKER_BUILDKIT=0 docker build); builder_name="legacy builder"
  args+=(--build-arg "BUILDPLATFORM=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')")
fi

log "building $tag from $node_image (PostgreSQL client: $postgresql_source, MongoDB tools: $mongodb_source; $builder_name)"
started=$SECONDS
"${builder[@]}" "${args[@]}" . >&2
log "built $tag in $((SECONDS - started)) s, $(docker image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
echo "$tag"
