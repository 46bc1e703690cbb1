#!/usr/bin/env bash
# Placeholder: installs the MongoDB-compatible test server and mongodump/mongorestore (being built).
set -euo pipefail
echo "mongo: nothing to install yet"
