#!/usr/bin/env bash
# Materialise Apicurio Registry (Confluent-compatible schema registry API) into
#   ${CENTAUR_SERVICES_HOME:-$HOME/.cache/centaur-services}/registry/apicurio-registry-<version>/
# using Maven (Maven Central only). Idempotent: does nothing when already installed.
#
# Usage: scripts/services/registry/install.sh [extra mvn args, e.g. -Dmaven.repo.local=/tmp/m2]
# Env:   CENTAUR_SERVICES_HOME  cache root (default $HOME/.cache/centaur-services)
#        APICURIO_VERSION       default 3.0.9 (newest release that runs on Java 17)
# Stdout: the path of the runnable jar (last line); progress goes to stderr.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SERVICES_HOME="${CENTAUR_SERVICES_HOME:-$HOME/.cache/centaur-services}"
VERSION="${APICURIO_VERSION:-3.0.9}"
BASE="$SERVICES_HOME/registry"
DEST="$BASE/apicurio-registry-$VERSION"
JAR="$DEST/apicurio-registry-app-$VERSION-runner.jar"
MARKER="$DEST/.installed"

log() { echo "registry/install.sh: $*" >&2; }

if [[ -f "$MARKER" && -f "$JAR" ]]; then
  log "already installed: $DEST"
  echo "$JAR"
  exit 0
fi

command -v java >/dev/null || { log "java not found (Java 17+ required)"; exit 1; }
command -v mvn >/dev/null || { log "mvn not found"; exit 1; }

mkdir -p "$BASE"

# Serialise concurrent installs.
if command -v flock >/dev/null; then
  exec 9>"$BASE/.install.lock"
  flock 9
  if [[ -f "$MARKER" && -f "$JAR" ]]; then
    log "already installed (by a concurrent run): $DEST"
    echo "$JAR"
    exit 0
  fi
fi

STAGE="$DEST.partial.$$"
rm -rf "$STAGE"
trap 'rm -rf "$STAGE"' EXIT

log "fetching io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all via Maven into $STAGE"
start=$(date +%s)
CENTAUR_SERVICES_HOME="$SERVICES_HOME" mvn -B -q --no-transfer-progress \
  -f "$HERE/pom.xml" initialize \
  -Dapicurio.version="$VERSION" -Dregistry.home="$STAGE" "$@" >&2

STAGED_JAR="$STAGE/apicurio-registry-app-$VERSION-runner.jar"
if [[ ! -f "$STAGED_JAR" || ! -d "$STAGE/lib" ]]; then
  log "unpacked distribution is missing $STAGED_JAR or lib/"
  exit 1
fi

rm -rf "$DEST"
mv "$STAGE" "$DEST"
trap - EXIT
echo "apicurio-registry-app $VERSION installed $(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$MARKER"
log "installed $DEST in $(( $(date +%s) - start ))s"
echo "$JAR"
