#!/usr/bin/env bash
# Pins what the Lambda layer is built from: resolves the tools' packages and every package
# holding a library they load (walking the ELF files' DT_NEEDED entries, not apt's Depends:
# those pull in perl, debconf and the like, which a tool never loads) at the versions apt
# offers now, and writes layers/packages.lock with each .deb's sha256.
#
# Run it (after `apt-get update`) to move the layer to newer packages, e.g. when Debian ships a
# security fix and the old version leaves the archive; then rebuild and commit the lock.
# Needs: apt-get, dpkg-deb, dpkg -S (the tools installed on this machine tell which package
# owns a library), readelf.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
source "$here/lib.sh"

candidate_version() { # name
  apt-cache policy "$1" | sed -n 's/^ *Candidate: //p' | grep -v '(none)' \
    || die "apt offers no $1; run apt-get update"
}

# The package that owns a library file on this machine.
owner_of() { # soname
  local path
  for path in "/lib/x86_64-linux-gnu/$1" "/usr/lib/x86_64-linux-gnu/$1"; do
    dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1 && return
  done
  die "no installed package has $1; install the tools first (scripts/setup-system.sh)"
}

work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-layer-lock.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
declare -A version_of=()

add_package() { # name
  [ -z "${version_of[$1]+x}" ] || return 0
  version_of[$1]=$(candidate_version "$1")
  extract_deb "$(fetch_deb "$1" "${version_of[$1]}")" "$root"
}

for name in "${TOOL_PACKAGES[@]}" "$MARIADB_PLUGIN_PACKAGE" libc6 libgcc-s1; do add_package "$name"; done

# Add the owner of every library not yet extracted, until the walk finds them all.
while :; do
  roots=()
  for tool in "${TOOLS[@]}"; do roots+=("$root/${tool#*:}"); done
  roots+=("$root/$MARIADB_PLUGIN_DIR"/*.so)
  for soname in "${DLOPENED_SONAMES[@]}"; do roots+=("$(find_soname "$root" "$soname")"); done
  missing=$(library_closure "$root" "${roots[@]}" | awk -F'\t' '$2 == "" { print $1 }')
  [ -n "$missing" ] || break
  for soname in $missing; do
    owner=$(owner_of "$soname")
    log "$soname comes from $owner"
    add_package "$owner"
  done
done

for name in "${BUILD_PACKAGES[@]}"; do version_of[$name]=$(candidate_version "$name"); done

{
  echo "# The packages layers/build.sh builds the Lambda layer from, written by layers/lock.sh."
  echo "# <role> <package> <version> <sha256 of the .deb>; role: ship (files go into the layer)"
  echo "# or build (run by the build). source-date-epoch: every file's mtime in the layer."
  echo "source-date-epoch $(date +%s)"
  for name in $(printf '%s\n' "${!version_of[@]}" | LC_ALL=C sort); do
    role=ship
    [[ " ${BUILD_PACKAGES[*]} " == *" $name "* ]] && role=build
    file=$(fetch_deb "$name" "${version_of[$name]}")
    echo "$role $name ${version_of[$name]} $(sha256sum "$file" | cut -d' ' -f1)"
  done
} > "$LOCK_FILE"
log "wrote $LOCK_FILE ($(grep -c '^ship ' "$LOCK_FILE") packages shipped)"
