#!/usr/bin/env bash
# Smoke test against a RUNNING registry (see README.md for how to start it).
# Registers an Avro schema, reads it back, checks compatibility, sets BACKWARD.
# Env: REGISTRY_URL (default http://127.0.0.1:8081/apis/ccompat/v7)
#      SUBJECT      (default smoke-<pid>-value, so reruns against one server don't clash)
set -euo pipefail

B="${REGISTRY_URL:-http://127.0.0.1:8081/apis/ccompat/v7}"
SUBJ="${SUBJECT:-smoke-$$-value}"
CT='Content-Type: application/vnd.schemaregistry.v1+json'
V1='{"schema":"{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"smoke\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"}]}"}'
V2_OK='{"schema":"{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"smoke\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"age\",\"type\":\"int\",\"default\":0}]}"}'
V2_BAD='{"schema":"{\"type\":\"record\",\"name\":\"User\",\"namespace\":\"smoke\",\"fields\":[{\"name\":\"name\",\"type\":\"string\"},{\"name\":\"email\",\"type\":\"string\"}]}"}'

fail() { echo "FAIL: $*" >&2; exit 1; }
req() { # METHOD PATH [BODY] -> prints body, checks 2xx
  local m=$1 p=$2 body=${3:-} out code
  if [[ -n "$body" ]]; then out=$(curl -sS -X "$m" -H "$CT" --data "$body" -w '\n%{http_code}' "$B$p")
  else out=$(curl -sS -X "$m" -w '\n%{http_code}' "$B$p"); fi
  code=${out##*$'\n'}; out=${out%$'\n'*}
  echo "$m $p -> $code $out" >&2
  [[ "$code" == 2* ]] || fail "$m $p returned $code"
  printf '%s' "$out"
}

id=$(req POST "/subjects/$SUBJ/versions" "$V1" | sed -n 's/.*"id":\([0-9]*\).*/\1/p')
[[ -n "$id" ]] || fail "no id returned"
req GET "/schemas/ids/$id" | grep -q '"schema"' || fail "GET /schemas/ids/$id has no schema"
req GET "/subjects" | grep -q "\"$SUBJ\"" || fail "subject not listed"
req GET "/subjects/$SUBJ/versions" | grep -q '1' || fail "no version 1"
req PUT "/config/$SUBJ" '{"compatibility":"BACKWARD"}' | grep -q BACKWARD || fail "set BACKWARD"
req POST "/compatibility/subjects/$SUBJ/versions/latest" "$V2_OK" | grep -q '"is_compatible":true' || fail "compatible schema judged incompatible"
req POST "/compatibility/subjects/$SUBJ/versions/latest" "$V2_BAD" | grep -q '"is_compatible":false' || fail "incompatible schema judged compatible"
echo "smoke test: 1 passed, 0 failed"
