#!/usr/bin/env bash
# Restores the streams of a Vaultra chunked snapshot WITHOUT Vaultra (docs/chunked-snapshots.md).
#
#   restore-chunked.sh <run-folder> <shared-folder> <age-identity-file> <output-dir>
#
# <run-folder>: a local copy of the run's folder (manifest.json, index.tsv.gz), e.g. from
#   aws s3 sync s3://bucket/<job>/<YYYY>/<MM>/<DD>/<runId>/ run/
# <shared-folder>: a local copy of the job's shared folder (its packs), e.g. from
#   aws s3 sync s3://bucket/<job>/shared/ shared/
# <age-identity-file>: an identity of the backup's recipients (unused for `encryption: none`).
# <output-dir>: receives one file per stream, `<n>-<name>`, then this prints how to load them.
#
# Checks: the SHA-256 and size of the index and of every pack the index uses against
# manifest.json (all before anything is decrypted), age's authentication of each pack, and the
# decompressed length of each run of adjacent chunks. Disk: the streams, plus one decrypted pack. Check manifest.json's signature first if you rely on it (`vaultra verify`).
# Needs: bash, python3 (reads the manifest), sha256sum, gzip, awk, dd (GNU), age, zstd.
set -euo pipefail

die() { printf 'restore-chunked: error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }

[ $# -eq 4 ] || die "usage: restore-chunked.sh <run-folder> <shared-folder> <age-identity-file> <output-dir>"
run=$1 shared=$2 identity=$3 out=$4
[ -f "$run/manifest.json" ] || die "$run/manifest.json not found: give the local copy of the run folder"
[ -d "$shared" ] || die "$shared is not a folder: give the local copy of the job's shared folder"
for tool in python3 sha256sum gzip awk dd; do need "$tool" "install it (Debian: apt-get install $tool)"; done

# The manifest's facts as `key value…` lines; names are checked to be plain file names.
facts=$(python3 - "$run/manifest.json" <<'PY'
import json, re, sys
m = json.load(open(sys.argv[1]))
if m.get('schema') != 'vaultra.manifest/v3' or 'snapshot' not in m: sys.exit('manifest.json is not a chunked snapshot (vaultra.manifest/v3 with a snapshot)')
print('compression', m['compression']['id'])
print('encryption', m['encryption']['format'])
print('engine', m['source']['engine'])
print('format', m['dump']['format'])
print('layout', m['snapshot']['layout'])
for o in m['objects']:
    if o['role'] == 'index' and re.fullmatch(r'[A-Za-z0-9_-][A-Za-z0-9._-]*', o['name']): print('index', o['name'], o['sizeBytes'], o['sha256'])
    if o['role'] == 'pack' and o.get('scope') == 'shared' and re.fullmatch(r'pack-[0-9a-f]{32}(\.age)?', o['name']): print('pack', o['name'], o['sizeBytes'], o['sha256'])
PY
) || die "cannot read $run/manifest.json"
fact() { awk -v k="$1" '$1 == k { print $2; exit }' <<<"$facts"; }
compression=$(fact compression) encryption=$(fact encryption) engine=$(fact engine) layout=$(fact layout) format=$(fact format)
case $compression in
  zstd) need zstd "install it (Debian: apt-get install zstd)"; decompress=(zstd -dc) ;;
  gzip) decompress=(gzip -dc) ;;
  none) decompress=(cat) ;;
  *) die "compression $compression is not one this script knows" ;;
esac
if [ "$encryption" = age-v1 ]; then
  need age "install it (Debian: apt-get install age)"
  [ -r "$identity" ] || die "cannot read the identity file $identity"
fi

# check <file> <size> <sha256>: the file is what the manifest lists.
check() {
  [ -f "$1" ] || die "$1 is missing"
  [ "$(wc -c <"$1" | tr -d ' ')" = "$2" ] || die "$1 is not the size manifest.json lists ($2 bytes): the copy is incomplete or the object was altered"
  [ "$(sha256sum <"$1" | cut -d' ' -f1)" = "$3" ] || die "$1 does not match its SHA-256 in manifest.json: it was altered or damaged"
}

read -r _ index_name index_size index_sha < <(grep '^index ' <<<"$facts") || die "manifest.json lists no index"
check "$run/$index_name" "$index_size" "$index_sha"

mkdir -p "$out"
work=$(mktemp -d "$out/.restore-chunked.XXXXXX")
trap 'rm -rf "$work"' EXIT
gzip -dc "$run/$index_name" >"$work/index.tsv" || die "$run/$index_name is not gzip: damaged"
[ "$(head -n 1 "$work/index.tsv")" = "$(printf 'vaultra-snapshot-index\t1')" ] || die "$run/$index_name is not a version 1 snapshot index"

# Every pack the index uses is checked against the manifest before anything is decrypted or written.
packs=$(awk -F '\t' '$1 == "chunk" { print $4 }' "$work/index.tsv" | sort -u)
for pack in $packs; do
  listed=$(awk -v p="$pack" '$1 == "pack" && $2 == p { print $3, $4 }' <<<"$facts")
  [ -n "$listed" ] || die "the index uses pack $pack, which manifest.json does not list"
  # shellcheck disable=SC2086 # size and digest, two words
  check "$shared/$pack" $listed
done

# Stream files, named `<n>-<name>` with the name decoded and made a plain file name.
decode() { printf '%b' "$(sed 's/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g' <<<"$1")"; }
declare -A file roles names
while IFS=$'\t' read -r kind n name role; do
  [ "$kind" = stream ] || continue
  [[ $n =~ ^[0-9]{1,9}$ ]] || die "$run/$index_name has a stream numbered '$n': damaged"
  names[$n]=$(decode "$name")
  roles[$n]=$(decode "$role")
  file[$n]="$out/$n-$(printf '%s' "${names[$n]}" | tr -c 'A-Za-z0-9._-' '_')"
  : >"${file[$n]}"
done <"$work/index.tsv"

# Runs of chunks: per stream, in order, adjacent chunks of one pack coalesced into one read, with
# where the run's bytes go in its stream. Lines: <pack> <stream> <offset> <stored length> <raw length> <stream offset>.
awk -F '\t' -v OFS='\t' '
  $1 == "chunk" {
    s = $2
    if (s in n && pack[s, n[s]] == $4 && end[s] == $5) { len[s, n[s]] += $6; raw[s, n[s]] += $7 }
    else { n[s]++; pack[s, n[s]] = $4; off[s, n[s]] = $5; len[s, n[s]] = $6; raw[s, n[s]] = $7; at[s, n[s]] = size[s] + 0 }
    end[s] = $5 + $6
    size[s] += $7
  }
  END { for (k in n) for (i = 1; i <= n[k]; i++) print pack[k, i], k, off[k, i], len[k, i], raw[k, i], at[k, i] }
' "$work/index.tsv" | sort -s -t "$(printf '\t')" -k1,1 >"$work/runs.tsv"

# Pack by pack: decrypted once, its runs cut out, decompressed, checked and written in place, then
# removed, so the disk holds one decrypted pack at a time.
for pack in $packs; do
  if [ "$encryption" = age-v1 ]; then
    age -d -i "$identity" -o "$work/pack" "$shared/$pack" || die "age cannot decrypt $shared/$pack (wrong identity, or the pack was altered)"
  else
    ln -sf "$(cd "$shared" && pwd)/$pack" "$work/pack"
  fi
  while IFS=$'\t' read -r _ s offset length rawlength at; do
    [ -n "${file[$s]:-}" ] || die "the index has chunks of stream $s, which it does not declare"
    dd if="$work/pack" bs=1M iflag=skip_bytes,count_bytes skip="$offset" count="$length" status=none | "${decompress[@]}" >"$work/run" ||
      die "bytes $offset..$((offset + length)) of pack $pack (stream $s) do not decompress: damaged"
    got=$(wc -c <"$work/run" | tr -d ' ')
    [ "$got" -eq "$rawlength" ] || die "bytes $offset..$((offset + length)) of pack $pack decompress to $got bytes, the index says $rawlength: damaged"
    dd if="$work/run" of="${file[$s]}" bs=1M oflag=seek_bytes seek="$at" conv=notrunc status=none
  done < <(awk -F '\t' -v p="$pack" '$1 == p' "$work/runs.tsv")
  rm -f "$work/pack" "$work/run"
done

echo "restored ${#file[@]} stream(s) of a $engine snapshot ($layout, $format) into $out:"
for n in $(printf '%s\n' "${!file[@]}" | sort -n); do echo "  ${file[$n]}  (${roles[$n]} ${names[$n]})"; done
echo
echo "To load them with the engine's own tools:"
streams_of() { for n in $(printf '%s\n' "${!file[@]}" | sort -n); do [ "${roles[$n]}" = "$1" ] && echo "$n"; done; return 0; }
if [ "$layout" = single-stream ]; then
  dump=${file[0]}
  case $engine in
    postgres) echo "  pg_restore -d <database> '$dump'   (or psql -d <database> -f '$dump' for a plain SQL dump)" ;;
    mysql) echo "  mariadb <database> < '$dump'" ;;
    mongodb) echo "  mongorestore --archive='$dump'" ;;
    sqlite) echo "  the stream is the database file: cp '$dump' <database>.db" ;;
    directory) echo "  mkdir -p <target> && tar -xf '$dump' -C <target>" ;;
    *) echo "  $dump is the engine's ordinary dump ($format)" ;;
  esac
else
  case $engine in
    postgres)
      for n in $(streams_of pre-data); do echo "  pg_restore -d <database> '${file[$n]}'"; done
      for n in $(streams_of table); do echo "  psql -d <database> -c \"\\copy ${names[$n]#table/} FROM '${file[$n]}'\"   (list the columns after the table name if it has generated ones)"; done
      for n in $(streams_of data-rest); do echo "  pg_restore -d <database> '${file[$n]}'"; done
      for n in $(streams_of post-data); do echo "  pg_restore -d <database> '${file[$n]}'"; done ;;
    mysql)
      for role in schema table triggers events; do for n in $(streams_of "$role"); do echo "  mariadb <database> < '${file[$n]}'"; done; done ;;
    *) echo "  load the streams in the order above with the $engine tools (format $format)" ;;
  esac
fi
