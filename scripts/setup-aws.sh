#!/usr/bin/env bash
# Installs the AWS emulator the tests use: moto's server (S3, DynamoDB, KMS, Secrets Manager,
# SNS…) from PyPI. Idempotent: nothing to do when the pinned version is installed.
set -euo pipefail
MOTO_VERSION=5.1.22
if command -v moto_server >/dev/null 2>&1 && python3 -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "aws: moto $MOTO_VERSION present"
  exit 0
fi
echo "aws: pip install moto[server]==$MOTO_VERSION"
python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
command -v moto_server >/dev/null 2>&1 || { echo "aws: moto_server is not on PATH after pip install (pip's scripts folder is missing from PATH)" >&2; exit 1; }
