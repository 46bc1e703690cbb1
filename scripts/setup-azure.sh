#!/usr/bin/env bash
# The Azure emulator the tests use is Azurite (Blob and Table), an npm package pinned as a
# devDependency (azurite 3.37.0 in package.json): `npm ci`, which scripts/setup-system.sh runs
# after this script, installs it. Nothing comes from apt or another registry, so this script
# only reports what is there. Key Vault has no emulator: its tests use SDK transport mocks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

AZURITE_VERSION=3.37.0
installed=$(node -p "try { require('./node_modules/azurite/package.json').version } catch { '' }" 2>/dev/null || true)
if [ "$installed" = "$AZURITE_VERSION" ]; then
  echo "azure: azurite $AZURITE_VERSION present (npm devDependency)"
elif [ -n "$installed" ]; then
  echo "azure: azurite $installed in node_modules, package.json pins $AZURITE_VERSION: npm ci will replace it"
else
  echo "azure: azurite $AZURITE_VERSION will be installed by npm ci (npm devDependency)"
fi
