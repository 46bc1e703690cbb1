# Shared by layers/build.sh and layers/lock.sh: the package cache, .deb extraction and the walk
# from an ELF file to every shared library it needs. Sourced, not run.

# The x86_64 Debian library folders a soname is looked up in, in the loader's default order.
LIB_DIRS=(lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib64 usr/lib)

cache_dir=${VAULTRA_LAYER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vaultra-layer}
deb_cache=$cache_dir/debs

log() { echo "layer: $*" >&2; }
die() { echo "layer: $*" >&2; exit 1; }

# apt-get download of one exact version into the cache (apt verifies it against the signed
# archive index); prints the .deb's path. A cached file is used as it is: its sha256 is
# checked against the lock by the caller.
fetch_deb() { # name version
  local name=$1 version=$2 file
  file=$(cached_deb "$name" "$version")
  if [ -z "$file" ]; then
    mkdir -p "$deb_cache"
    # Downloaded beside the cache, then moved in whole: the cache never holds a partial file.
    local partial
    partial=$(mktemp -d "$deb_cache/.download.XXXXXX")
    (cd "$partial" && apt-get download -qq "$name=$version" >/dev/null 2>&1) \
      || { rm -rf "$partial"; die "apt-get download $name=$version failed: the archive has moved on (run: apt-get update && bash layers/lock.sh), or the network is out of reach"; }
    mv "$partial"/*.deb "$deb_cache/"
    rmdir "$partial"
    file=$(cached_deb "$name" "$version")
    [ -n "$file" ] || die "apt-get download $name=$version left no .deb in $deb_cache"
  fi
  printf '%s\n' "$file"
}

# apt names a downloaded file <name>_<version with ':' as %3a>_<arch>.deb.
cached_deb() { # name version
  local pattern
  pattern="$1_${2//:/%3a}_"
  compgen -G "$deb_cache/${pattern}*.deb" | head -n 1 || true
}

extract_deb() { # file root
  dpkg-deb -x "$1" "$2"
}

# The sonames an ELF file asks for (DT_NEEDED), one a line; nothing for a static binary.
needed_sonames() { # file
  LC_ALL=C readelf -d "$1" 2>/dev/null | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p'
}

# Where a soname lives under an extracted root, following symlinks inside that root; empty
# when no extracted package has it.
find_soname() { # root soname
  local root=$1 soname=$2 dir candidate
  for dir in "${LIB_DIRS[@]}"; do
    candidate=$root/$dir/$soname
    if [ -e "$candidate" ]; then
      resolve_in_root "$root" "$candidate"
      return
    fi
  done
}

# A path's target inside root: absolute symlinks (/lib64/ld-linux… → /lib/x86_64-linux-gnu/…)
# point into root, not at this machine.
resolve_in_root() { # root path
  local root=$1 path=$2 target hops=0
  while [ -L "$path" ]; do
    target=$(readlink "$path")
    case $target in
      /*) path=$root$target ;;
      *) path=$(dirname "$path")/$target ;;
    esac
    hops=$((hops + 1))
    [ "$hops" -lt 20 ] || die "symlink loop at $2"
  done
  realpath -m "$path"
}

# Every library the given ELF files need, transitively, as "soname<TAB>path" lines (sorted by
# soname); a soname no extracted package has is printed as "soname<TAB>" for the caller to
# report or resolve.
library_closure() { # root file...
  local root=$1; shift
  local -A seen=()
  local queue=("$@") file soname path
  while [ "${#queue[@]}" -gt 0 ]; do
    file=${queue[0]}
    queue=("${queue[@]:1}")
    while IFS= read -r soname; do
      [ -n "$soname" ] || continue
      [ -z "${seen[$soname]+x}" ] || continue
      path=$(find_soname "$root" "$soname")
      seen[$soname]=$path
      [ -z "$path" ] || queue+=("$path")
    done < <(needed_sonames "$file")
  done
  for soname in "${!seen[@]}"; do
    printf '%s\t%s\n' "$soname" "${seen[$soname]}"
  done | LC_ALL=C sort
}

# PostgreSQL's client major: bookworm's own (apt.postgresql.org, where the runner image takes
# the newest major from, is out of reach of the build machines).
PG_MAJOR=15

# What the layer ships, as <name in /opt/bin>:<path inside the extracted packages>: what the
# runner spawns (`vaultra doctor` lists them), point-in-time recovery's log tools included.
# mongodump/mongorestore are not Debian packages: see ensure_mongo_tools in build.sh.
TOOLS=(
  "pg_dump:usr/lib/postgresql/$PG_MAJOR/bin/pg_dump"
  "pg_restore:usr/lib/postgresql/$PG_MAJOR/bin/pg_restore"
  "psql:usr/lib/postgresql/$PG_MAJOR/bin/psql"
  "pg_basebackup:usr/lib/postgresql/$PG_MAJOR/bin/pg_basebackup"
  "pg_receivewal:usr/lib/postgresql/$PG_MAJOR/bin/pg_receivewal"
  "mariadb-dump:usr/bin/mariadb-dump"
  "mariadb:usr/bin/mariadb"
  "mariadb-binlog:usr/bin/mariadb-binlog"
  "sqlite3:usr/bin/sqlite3"
  "zstd:usr/bin/zstd"
  "pigz:usr/bin/pigz"
  "age:usr/bin/age"
  "tar:bin/tar"
)
# The packages those paths come from; their library dependencies are added by layers/lock.sh.
TOOL_PACKAGES=("postgresql-client-$PG_MAJOR" mariadb-client mariadb-client-core sqlite3 zstd pigz age tar)
# libmariadb's authentication plugins, loaded with dlopen (caching_sha2_password is MySQL 8's
# default): shipped in the layer and found through MARIADB_PLUGIN_DIR.
MARIADB_PLUGIN_PACKAGE=libmariadb3
MARIADB_PLUGIN_DIR=usr/lib/x86_64-linux-gnu/libmariadb3/plugin
# Libraries glibc loads with dlopen rather than DT_NEEDED: libgcc_s for thread cancellation and
# unwinding (pg_dump --jobs, pg_restore --jobs).
DLOPENED_SONAMES=(libgcc_s.so.1)
# Packages the build runs rather than ships: pinned like the rest, so the patched binaries'
# bytes do not depend on this machine's patchelf.
BUILD_PACKAGES=(patchelf)

LOCK_FILE=${LOCK_FILE:-$(dirname "${BASH_SOURCE[0]}")/packages.lock}
