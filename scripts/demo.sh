#!/usr/bin/env bash
# The main job on the embedded default: a sample SQLite database backed up into a local
# folder (zstd + age), listed, verified, restored, and the restore compared with the source.
# Sets up what it needs first (system packages, npm packages, the build).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-system.sh >/dev/null
npm run --silent build

demo=${VAULTRA_DEMO_DIR:-./vaultra-demo}
rm -rf "$demo"
mkdir -p "$demo"
export VAULTRA_IDENTITY="$demo/identity.txt"   # keep the demo's key out of ~/.config
vaultra() { node dist/vaultra.mjs "$@"; }
show() { printf '\n$ vaultra %s\n' "$*"; vaultra "$@"; }

sqlite3 "$demo/shop.db" < scripts/demo-shop.sql >/dev/null
echo "sample database: $demo/shop.db ($(du -h "$demo/shop.db" | cut -f1))"

show keygen --out "$demo/identity.txt"
show backup "sqlite:$demo/shop.db" --to "file://$demo/backups" --no-progress
show list --from "file://$demo/backups"
show verify latest --from "file://$demo/backups" --no-progress
show restore latest --from "file://$demo/backups" --target "sqlite:$demo/restored.db" --no-progress

# The proof: every table's rows, hashed, in the source and in the restore.
fingerprint() {
  sqlite3 "$1" "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name" | while read -r table; do
    printf '%s %s %s\n' "$table" "$(sqlite3 "$1" "SELECT count(*) FROM \"$table\"")" "$(sqlite3 "$1" "SELECT hex(sha3_query('SELECT * FROM \"$table\" ORDER BY rowid'))" | cut -c1-16)"
  done
}
printf '\nsource and restore, table by table (rows, sha3 of the rows):\n'
diff <(fingerprint "$demo/shop.db") <(fingerprint "$demo/restored.db") >/dev/null && fingerprint "$demo/restored.db" | sed 's/^/  /'
if diff <(fingerprint "$demo/shop.db") <(fingerprint "$demo/restored.db") >/dev/null; then
  echo "restore identical to the source ✔"
else
  echo "restore differs from the source ✘" >&2
  exit 1
fi
