#!/usr/bin/env bash
# The whole test suite: starts the shared services once (Kafka, schema registry, Redis; idempotent),
# then runs every test file. Under CI=true a service that cannot start fails the run; elsewhere the
# tests that need it are skipped with the command to run.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! scripts/services/services.sh up; then
  if [[ "${CI:-}" == true ]]; then
    echo "test: the services did not start; see the logs named above" >&2
    exit 1
  fi
  echo "test: the services did not start; tests that need them are skipped" >&2
fi
# The services' addresses (ports may be moved with CENTAUR_*_PORT).
eval "$(scripts/services/services.sh env)"
# shellcheck disable=SC2046
# --expose-gc: memory-bound tests measure what is held after a collection, not when V8 collects.
exec node --expose-gc --import tsx --test --test-concurrency=1 $(find test -name "*.test.ts" | sort) "$@"
