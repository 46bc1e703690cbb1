#!/usr/bin/env bash
# Installs the GCP emulators the tests use:
#   - fake-gcs-server (Cloud Storage's JSON and XML APIs, resumable uploads), built from the Go
#     module proxy at an exact version;
#   - the Cloud Firestore emulator (Google's own jar, Debian package
#     google-cloud-cli-firestore-emulator), run by the tests with `java -jar` directly, and a Java
#     runtime for it;
#   - the Cloud Pub/Sub emulator (Google's own jar, Debian package google-cloud-cli-pubsub-emulator),
#     started the same way, for the alert topic of the GCP functions.
# Idempotent: quick (no Go, no apt, no network) when all are present.
#
# Pins and traps:
#   - fake-gcs-server v1.56.1, checked against its pinned h1: hash. On this network the module
#     proxy may answer 403 for `@latest` and `@v/list`, which `go install …@version` consults
#     (retraction/deprecation check), so the module is fetched with `go mod download` of the exact
#     version and built inside its own source tree. fake-gcs-server has no version flag: the
#     binary is installed under a folder named after the version and linked onto PATH, so the
#     link's target says which version is installed.
#   - The Firestore emulator is not on any registry this project reaches (not on Maven Central;
#     Google's apt repository and dl.google.com do not resolve here). The machine image has the
#     Debian package preinstalled, with Google's apt source present but disabled
#     (/etc/apt/sources.list.d/google-cloud-sdk.list.disabled-by-farm). So: present → done; apt
#     knows the package (Google's repository configured and reachable) → apt-get install it;
#     otherwise fail with what to do.
#
#   - The Pub/Sub emulator comes the same way as the Firestore one (same Google apt repository,
#     preinstalled on the machine image); its jar's name carries its version
#     (lib/cloud-pubsub-emulator-<version>-all.jar), so any version found is accepted.
#
# Environment: VAULTRA_GCP_BIN (folder put on PATH; default /usr/local/bin as root, else
# ~/.local/bin), VAULTRA_FIRESTORE_JAR and VAULTRA_PUBSUB_JAR (the emulator jars, if installed
# elsewhere).
set -euo pipefail

FAKE_GCS_MODULE=github.com/fsouza/fake-gcs-server
FAKE_GCS_VERSION=v1.56.1
FAKE_GCS_SUM=h1:K03sAvbLvDz4hAynpCCUqnNRp+ik9JFSvHbkD/wTPOU=
FIRESTORE_PACKAGE=google-cloud-cli-firestore-emulator
FIRESTORE_JAR=${VAULTRA_FIRESTORE_JAR:-/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud-firestore-emulator.jar}
PUBSUB_PACKAGE=google-cloud-cli-pubsub-emulator
PUBSUB_LIB=/usr/lib/google-cloud-sdk/platform/pubsub-emulator/lib

if [ -n "${VAULTRA_GCP_BIN:-}" ]; then
  bin=$VAULTRA_GCP_BIN
  opt=$(dirname "$bin")/opt
elif [ "$(id -u)" -eq 0 ]; then
  bin=/usr/local/bin
  opt=/opt/vaultra
else
  bin=$HOME/.local/bin
  opt=$HOME/.local/opt/vaultra
fi
fake_gcs_home=$opt/fake-gcs-server-$FAKE_GCS_VERSION

if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  sudo=(false)
fi

started=$SECONDS

# ---- fake-gcs-server -------------------------------------------------------------------------
fake_gcs_ok() {
  [ -x "$fake_gcs_home/fake-gcs-server" ] && [ "$(readlink -f "$bin/fake-gcs-server" 2>/dev/null)" = "$(readlink -f "$fake_gcs_home/fake-gcs-server")" ]
}

if fake_gcs_ok; then
  echo "gcp: fake-gcs-server $FAKE_GCS_VERSION present in $bin"
else
  if ! command -v go >/dev/null 2>&1; then
    echo "gcp: Go (>= 1.24) is needed to build fake-gcs-server and is not installed; install it from https://go.dev/dl/" >&2
    exit 1
  fi
  go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if ! [[ "$go_minor" =~ ^[0-9]+$ ]] || [ "$go_minor" -lt 24 ]; then
    echo "gcp: Go $(go env GOVERSION) is too old: fake-gcs-server $FAKE_GCS_VERSION needs Go >= 1.24" >&2
    exit 1
  fi
  echo "gcp: building fake-gcs-server $FAKE_GCS_VERSION from the Go module proxy"
  work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-gcp-build.XXXXXX")
  trap 'chmod -R u+w "$work" 2>/dev/null || true; rm -rf "$work"' EXIT
  export CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local
  json=$(cd "$work" && go mod download -json "$FAKE_GCS_MODULE@$FAKE_GCS_VERSION") || true
  if printf '%s' "$json" | grep -q '"Error"'; then
    echo "gcp: go mod download $FAKE_GCS_MODULE@$FAKE_GCS_VERSION failed: $json" >&2
    exit 1
  fi
  dir=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')
  sum=$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",\{0,1\}$/\1/p')
  if [ "$sum" != "$FAKE_GCS_SUM" ]; then
    echo "gcp: $FAKE_GCS_MODULE@$FAKE_GCS_VERSION has hash '$sum', expected $FAKE_GCS_SUM: refusing to build it" >&2
    exit 1
  fi
  cp -R "$dir" "$work/src"
  chmod -R u+w "$work/src"
  (cd "$work/src" && go build -trimpath -ldflags "-s -w" -o "$work/fake-gcs-server" .)
  mkdir -p "$fake_gcs_home" "$bin"
  install -m 0755 "$work/fake-gcs-server" "$fake_gcs_home/fake-gcs-server"
  ln -sfn "$fake_gcs_home/fake-gcs-server" "$bin/fake-gcs-server"
  fake_gcs_ok || { echo "gcp: $bin/fake-gcs-server does not point at $fake_gcs_home after install" >&2; exit 1; }
  echo "gcp: installed fake-gcs-server $FAKE_GCS_VERSION into $bin in $((SECONDS - started)) s"
fi
case ":$PATH:" in *":$bin:"*) ;; *) echo "gcp: note: $bin is not on PATH; add it" >&2 ;; esac

# ---- the Firestore emulator and a Java runtime -------------------------------------------------
apt_candidate() { # package → prints its candidate version, if apt can install it
  command -v apt-cache >/dev/null 2>&1 || return 0
  apt-cache policy "$1" 2>/dev/null | sed -n 's/^[[:space:]]*Candidate: \(.*\)$/\1/p' | grep -v '(none)' || true
}

missing=()
updated=0
if [ ! -f "$FIRESTORE_JAR" ]; then
  # A fresh machine may have Google's source configured but no package lists yet.
  if [ -z "$(apt_candidate "$FIRESTORE_PACKAGE")" ] && command -v apt-get >/dev/null 2>&1 && [ "${sudo[0]:-}" != false ]; then
    "${sudo[@]}" apt-get update -qq || true
    updated=1
  fi
  if [ -n "$(apt_candidate "$FIRESTORE_PACKAGE")" ]; then
    missing+=("$FIRESTORE_PACKAGE")
  else
    cat >&2 <<EOF
gcp: the Cloud Firestore emulator is missing ($FIRESTORE_JAR) and apt cannot install $FIRESTORE_PACKAGE:
gcp:   Google's apt repository is not configured or not reachable (no other registry carries the emulator).
gcp:   Configure https://packages.cloud.google.com/apt (see https://cloud.google.com/sdk/docs/install#deb),
gcp:   then run: apt-get install $FIRESTORE_PACKAGE; or set VAULTRA_FIRESTORE_JAR to the jar of an existing install.
EOF
    exit 1
  fi
fi
pubsub_jar() { # prints the Pub/Sub emulator jar, if there is one
  if [ -n "${VAULTRA_PUBSUB_JAR:-}" ]; then
    if [ -f "$VAULTRA_PUBSUB_JAR" ]; then echo "$VAULTRA_PUBSUB_JAR"; fi
    return 0
  fi
  ls "$PUBSUB_LIB"/cloud-pubsub-emulator-*-all.jar 2>/dev/null | head -1
}
if [ -z "$(pubsub_jar)" ]; then
  if [ -z "$(apt_candidate "$PUBSUB_PACKAGE")" ] && [ $updated -eq 0 ] && command -v apt-get >/dev/null 2>&1 && [ "${sudo[0]:-}" != false ]; then
    "${sudo[@]}" apt-get update -qq || true
    updated=1
  fi
  if [ -z "${VAULTRA_PUBSUB_JAR:-}" ] && [ -n "$(apt_candidate "$PUBSUB_PACKAGE")" ]; then
    missing+=("$PUBSUB_PACKAGE")
  else
    cat >&2 <<EOF
gcp: the Cloud Pub/Sub emulator is missing (${VAULTRA_PUBSUB_JAR:-$PUBSUB_LIB/cloud-pubsub-emulator-*-all.jar}) and apt cannot install $PUBSUB_PACKAGE:
gcp:   Google's apt repository is not configured or not reachable (no other registry carries the emulator).
gcp:   Configure https://packages.cloud.google.com/apt (see https://cloud.google.com/sdk/docs/install#deb),
gcp:   then run: apt-get install $PUBSUB_PACKAGE; or set VAULTRA_PUBSUB_JAR to the jar of an existing install.
EOF
    exit 1
  fi
fi
# The emulators need Java >= 11 (checked with OpenJDK 17, Debian's default).
java_major() { java -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -1; }
if ! command -v java >/dev/null 2>&1 || [ "$(java_major)" -lt 11 ]; then
  missing+=(default-jre-headless)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${sudo[0]:-}" = false ]; then
    echo "gcp: not root and no sudo; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "gcp: apt-get install ${missing[*]}"
  [ $updated -eq 1 ] || "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ -f "$FIRESTORE_JAR" ] || { echo "gcp: $FIRESTORE_JAR is still missing after installing $FIRESTORE_PACKAGE" >&2; exit 1; }
echo "gcp: Firestore emulator present ($FIRESTORE_JAR), java $(java_major)"
[ -n "$(pubsub_jar)" ] || { echo "gcp: the Pub/Sub emulator jar is still missing after installing $PUBSUB_PACKAGE" >&2; exit 1; }
echo "gcp: Pub/Sub emulator present ($(pubsub_jar))"
