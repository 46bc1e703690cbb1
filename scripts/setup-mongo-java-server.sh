#!/usr/bin/env bash
# Fetches mongo-java-server (de.bwaldvogel, Maven Central) for the MongoDB oplog tests: the one
# MongoDB-compatible server that runs here and keeps an oplog (`local.oplog.rs`, memory backend
# with enableOplog). test/support/mongo-java-server.ts compiles its small main
# (test/support/mongo-java-server/OplogServer.java) against these jars at test time.
# Needs a JDK (javac) and Maven: installed from Debian when missing.
# Idempotent: quick (no Maven run) when the pinned jars are already in the cache folder.
#
# Environment: VAULTRA_MONGO_JAVA_SERVER_DIR (default ~/.cache/vaultra/mongo-java-server-<version>).
set -euo pipefail

VERSION=1.47.0
dir=${VAULTRA_MONGO_JAVA_SERVER_DIR:-$HOME/.cache/vaultra/mongo-java-server-$VERSION}

if [ -f "$dir/lib/mongo-java-server-memory-backend-$VERSION.jar" ] && [ -f "$dir/lib/mongo-java-server-core-$VERSION.jar" ] && [ -f "$dir/.complete" ]; then
  echo "mongo-java-server: $VERSION present in $dir"
  exit 0
fi

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
have javac || missing+=(openjdk-17-jdk-headless)
have mvn || missing+=(maven)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then sudo=(); elif have sudo; then sudo=(sudo); else
    echo "mongo-java-server: not root and no sudo; as root run: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "mongo-java-server: installing ${missing[*]}"
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

started=$SECONDS
work=$(mktemp -d "${TMPDIR:-/tmp}/vaultra-mjs.XXXXXX")
trap 'rm -rf "$work"' EXIT
cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>vaultra.test</groupId><artifactId>mongo-java-server-fetch</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>de.bwaldvogel</groupId><artifactId>mongo-java-server</artifactId><version>$VERSION</version></dependency>
  </dependencies>
</project>
POM
rm -rf "$dir"
mkdir -p "$dir"
(cd "$work" && mvn -q -B -Dstyle.color=never dependency:copy-dependencies -DoutputDirectory="$dir/lib")
touch "$dir/.complete"
echo "mongo-java-server: fetched $VERSION into $dir in $((SECONDS - started)) s"
