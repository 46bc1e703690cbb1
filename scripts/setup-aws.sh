#!/usr/bin/env bash
# Installs the AWS emulators the tests use, both required (CI fails if either is missing):
# - moto's server (S3, DynamoDB, KMS, Secrets Manager, SNS, ECS, Lambda, CloudFormation…) from
#   PyPI, into the machine's python3;
# - LocalStack (localstack-core, no Docker) for S3, KMS, Secrets Manager and SNS, which checks what
#   moto accepts (part checksums, Object Lock, key policies). It needs Python >= 3.12, so it gets
#   a virtualenv of its own from pyenv's 3.13 (installed with pyenv when missing), with the pins
#   TESTING.md found necessary.
# Idempotent: nothing to do when the pinned versions are installed.
set -euo pipefail
MOTO_VERSION=5.1.22
LOCALSTACK_VERSION=2026.3.0
LOCALSTACK_VENV=${VAULTRA_LOCALSTACK_VENV:-/opt/vaultra/localstack-$LOCALSTACK_VERSION}
LOCALSTACK_PINS=("localstack-core[runtime]==$LOCALSTACK_VERSION" 'cbor2<6' 'pyopenssl==25.1.0' 'cryptography<46' service_identity)

if command -v moto_server >/dev/null 2>&1 && python3 -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  echo "aws: moto $MOTO_VERSION present"
else
  echo "aws: pip install moto[server]==$MOTO_VERSION"
  python3 -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  command -v moto_server >/dev/null 2>&1 || { echo "aws: moto_server is not on PATH after pip install (pip's scripts folder is missing from PATH)" >&2; exit 1; }
fi

# A Python >= 3.12 for LocalStack: pyenv's 3.13 (or 3.12), else one on PATH, else pyenv installs 3.13.
python_for_localstack() {
  local root candidate
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
    for candidate in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.12*/bin/python3; do
      [ -x "$candidate" ] && { echo "$candidate"; return; }
    done
  fi
  for candidate in python3.13 python3.12; do
    command -v "$candidate" >/dev/null 2>&1 && { command -v "$candidate"; return; }
  done
  if command -v pyenv >/dev/null 2>&1; then
    echo "aws: pyenv install 3.13 (a few minutes: builds Python)" >&2
    pyenv install --skip-existing 3.13 >&2
    ls "$(pyenv root)"/versions/3.13*/bin/python3 | head -n 1
    return
  fi
  echo "aws: LocalStack needs Python >= 3.12: install pyenv (then rerun) or python3.13" >&2
  return 1
}

if "$LOCALSTACK_VENV/bin/python" -c "import importlib.metadata as m, sys; sys.exit(m.version('localstack-core') != '$LOCALSTACK_VERSION')" 2>/dev/null; then
  echo "aws: localstack-core $LOCALSTACK_VERSION present ($LOCALSTACK_VENV)"
else
  python=$(python_for_localstack)
  echo "aws: localstack-core $LOCALSTACK_VERSION into $LOCALSTACK_VENV ($("$python" --version))"
  rm -rf "$LOCALSTACK_VENV"
  mkdir -p "$(dirname "$LOCALSTACK_VENV")"
  "$python" -m venv "$LOCALSTACK_VENV"
  "$LOCALSTACK_VENV/bin/pip" install --quiet --disable-pip-version-check "${LOCALSTACK_PINS[@]}"
  "$LOCALSTACK_VENV/bin/python" -c "import localstack.runtime.runtime, rolo" || { echo "aws: localstack-core installed but does not import" >&2; exit 1; }
fi
