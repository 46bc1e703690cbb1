#!/usr/bin/env bash
# Builds the Lambda layer with the native tools the Vaultra runner spawns (README.md here says
# what is in it and why it is built this way):
#
#   bash layers/build.sh [outdir]     (default: layers/dist)
#
# Output: <outdir>/opt/ (the tree Lambda unpacks to /opt), <outdir>/vaultra-tools-layer.zip and
# <outdir>/vaultra-tools-layer.zip.sha256. Inputs: the exact .deb files layers/packages.lock
# names (downloaded once into ~/.cache/vaultra-layer, checked against the lock's sha256 every
# time) and mongodump/mongorestore as scripts/setup-mongo.sh pins and builds them. The same
# inputs give the same zip, byte for byte. Up to date (nothing rebuilt) when neither the inputs
# nor these scripts changed.
#
# Environment: VAULTRA_LAYER_CACHE (download cache; default ~/.cache/vaultra-layer),
# SOURCE_DATE_EPOCH (every file's mtime; default the lock's), LOCK_FILE (default
# layers/packages.lock).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
# shellcheck source=lib.sh
source "$here/lib.sh"

out=$(realpath -m "${1:-$here/dist}")
zip_name=vaultra-tools-layer.zip
# Lambda unpacks a layer to /opt. The tools' loader is named by absolute path (see patch_tool),
# so the libraries live at a fixed place there, in a folder of their own: /opt/lib is on
# Lambda's LD_LIBRARY_PATH, where the function's own Node.js must not find this glibc.
LAYER_ROOT=/opt
LIB_SUBDIR=vaultra/lib
LOADER=ld-linux-x86-64.so.2

for command in apt-get dpkg-deb readelf python3 sha256sum flock; do
  command -v "$command" >/dev/null 2>&1 || die "$command is needed; run scripts/setup-system.sh"
done
mkdir -p "$out" "$cache_dir"
# Test files, CI steps and other checkouts may build at once, into one folder or from one cache:
# one at a time (a build is short, and a half-downloaded .deb must never be read).
exec 8>"$cache_dir/.lock"
flock 8
exec 9>"$out/.build.lock"
flock 9

# ---- inputs -----------------------------------------------------------------------------------

lock_entries() { # role
  awk -v role="$1" '$1 == role { print $2, $3, $4 }' "$LOCK_FILE"
}

# The .deb for a lock entry, from the cache or apt, refused when its sha256 is not the lock's.
locked_deb() { # name version sha256
  local file actual
  file=$(fetch_deb "$1" "$2")
  actual=$(sha256sum "$file" | cut -d' ' -f1)
  [ "$actual" = "$3" ] || die "$1=$2 has sha256 $actual, layers/packages.lock says $3: delete $file and retry, or re-pin with layers/lock.sh"
  printf '%s\n' "$file"
}

# mongodump/mongorestore are static Go binaries (CGO_ENABLED=0): no loader, no libraries. The
# pinned build of scripts/setup-mongo.sh, kept in the cache; this machine's own copy is taken
# when it is that build, which saves the Go build.
ensure_mongo_tools() {
  local dest=$cache_dir/mongo-tools commit tool host
  commit=$(sed -n 's/^TOOLS_COMMIT=//p' "$repo/scripts/setup-mongo.sh")
  mkdir -p "$dest"
  for tool in mongodump mongorestore; do
    [ -x "$dest/$tool" ] && continue
    host=$(command -v "$tool" || true)
    if [ -n "$host" ] && [[ "$("$host" --version 2>/dev/null)" == *"git version: $commit"* ]]; then
      install -m 0755 "$host" "$dest/$tool"
    fi
  done
  # Its note that the folder is not on PATH is beside the point here.
  VAULTRA_MONGO_BIN=$dest VAULTRA_MONGO_TOOLS_ONLY=1 bash "$repo/scripts/setup-mongo.sh" 2>&1 | { grep -v 'is not on PATH' || true; } >&2
  printf '%s\n' "$dest"
}

mongo_dir=$(ensure_mongo_tools)

epoch=${SOURCE_DATE_EPOCH:-$(awk '$1 == "source-date-epoch" { print $2 }' "$LOCK_FILE")}
# Everything the output depends on; an output built from the same key is kept as it is.
build_key=$( { echo "$epoch"; cat "$LOCK_FILE" "$here/lib.sh" "$here/build.sh" "$here/zip-tree.py" "$mongo_dir/mongodump" "$mongo_dir/mongorestore"; } | sha256sum | cut -d' ' -f1)
if [ -f "$out/$zip_name" ] && [ "$(cat "$out/.build-key" 2>/dev/null)" = "$build_key" ]; then
  log "up to date: $out/$zip_name ($(du -h "$out/$zip_name" | cut -f1)), sha256 $(cut -d' ' -f1 "$out/$zip_name.sha256")"
  exit 0
fi

started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-layer-build.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
while read -r name version sha; do
  extract_deb "$(locked_deb "$name" "$version" "$sha")" "$root"
done < <(lock_entries ship)
while read -r name version sha; do
  extract_deb "$(locked_deb "$name" "$version" "$sha")" "$work/build-tools"
done < <(lock_entries build)
patchelf=$work/build-tools/usr/bin/patchelf

# ---- the tree ---------------------------------------------------------------------------------

opt=$out/opt
rm -rf "$opt" "$out/$zip_name" "$out/$zip_name.sha256" "$out/.build-key"
lib=$opt/$LIB_SUBDIR
plugin_dir=$lib/mariadb/plugin
mkdir -p "$opt/bin" "$plugin_dir"

tool_files=()
for tool in "${TOOLS[@]}"; do
  source_file=$root/${tool#*:}
  [ -f "$source_file" ] || die "${tool#*:} is in none of the locked packages: re-pin with layers/lock.sh"
  install -m 0755 "$source_file" "$opt/bin/${tool%%:*}"
  tool_files+=("$source_file")
done
install -m 0755 "$mongo_dir/mongodump" "$mongo_dir/mongorestore" "$opt/bin/"
install -m 0644 "$root/$MARIADB_PLUGIN_DIR"/*.so "$plugin_dir/"

dlopened=()
for soname in "${DLOPENED_SONAMES[@]}"; do dlopened+=("$(find_soname "$root" "$soname")"); done
while IFS=$'\t' read -r soname path; do
  [ -n "$path" ] || die "$soname is in none of the locked packages: re-pin with layers/lock.sh"
  # RUNPATH in a library would make the loader ignore the tool's RPATH for that library's own
  # dependencies, and look in LD_LIBRARY_PATH — the function's — first (see patch_tool).
  if LC_ALL=C readelf -d "$path" | grep -q '(RUNPATH)'; then die "$soname carries a RUNPATH; the layer's lookup order would not hold"; fi
  install -m 0644 "$path" "$lib/$soname"
done < <(library_closure "$root" "${tool_files[@]}" "$root/$MARIADB_PLUGIN_DIR"/*.so "${dlopened[@]}")
chmod 0755 "$lib/$LOADER"

# Each dynamic tool names the layer's own loader as its interpreter, and the layer's libraries
# as its DT_RPATH:
#   - the loader is bookworm's glibc 2.36 and must be: a tool started by the Lambda OS's
#     loader (Amazon Linux 2023, glibc 2.34) would use its libc.so.6 and fail on symbol versions
#     the tools were built against (GLIBC_2.35+). PT_INTERP cannot be relative, hence /opt/….
#   - DT_RPATH (not RUNPATH, patchelf's default) is searched before LD_LIBRARY_PATH, which
#     Lambda sets to folders holding its own libc.so.6; and it applies to every library the tool
#     loads, dlopen'ed ones included. $ORIGIN keeps it relative to the binary.
#   - the binary itself stays a real executable (no wrapper script around the loader), so
#     /proc/self/exe is the tool and what it finds relative to itself keeps working, and no
#     shell is needed in the Lambda image.
patch_tool() { # file
  LC_ALL=C readelf -l "$1" | grep -q 'Requesting program interpreter' || return 0
  "$patchelf" --set-interpreter "$LAYER_ROOT/$LIB_SUBDIR/$LOADER" \
    --force-rpath --set-rpath "\$ORIGIN/../$LIB_SUBDIR" "$1"
}
for file in "$opt/bin"/*; do patch_tool "$file"; done

# ---- what went in, and the zip --------------------------------------------------------------

{
  echo "# What this layer was built from (layers/packages.lock) and its mongo-tools build."
  lock_entries ship | sed 's/^/deb /'
  for tool in mongodump mongorestore; do
    echo "go-build $tool $(sed -n 's/^TOOLS_VERSION=//p' "$repo/scripts/setup-mongo.sh") $(sha256sum "$opt/bin/$tool" | cut -d' ' -f1)"
  done
} > "$opt/vaultra/packages.txt"
(cd "$opt" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs sha256sum) > "$work/SHA256SUMS"
mv "$work/SHA256SUMS" "$opt/vaultra/SHA256SUMS"
find "$opt" -exec touch -h -d "@$epoch" {} +
python3 "$here/zip-tree.py" "$opt" "$out/$zip_name" "$epoch"
(cd "$out" && sha256sum "$zip_name" > "$zip_name.sha256")
echo "$build_key" > "$out/.build-key"

log "built $out/$zip_name in $((SECONDS - started)) s: $(find "$opt" -type f | wc -l) files, $(du -sh --apparent-size "$opt" | cut -f1) unpacked, $(du -h --apparent-size "$out/$zip_name" | cut -f1) zipped"
log "sha256 $(cut -d' ' -f1 "$out/$zip_name.sha256")"
