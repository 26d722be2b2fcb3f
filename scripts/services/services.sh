#!/usr/bin/env bash
# The services that Centaur's integration tests and benchmarks talk to: an Apache Kafka broker
# (KRaft, single node), a schema registry with the Confluent REST API, Redis, a KServe v2
# (Open Inference Protocol) inference server: MLServer serving the demo model (scripts/services/kserve),
# an S3-compatible object store: S3Proxy on the file system (scripts/services/s3), Azurite's
# blob service for Azure Blob Storage (scripts/services/azurite), kinesalite for Amazon Kinesis
# Data Streams (scripts/services/kinesis), Label Studio, the labelling server
# (scripts/services/labelstudio), MLflow's tracking server with its Model Registry
# (scripts/services/mlflow), and NVIDIA Triton Inference Server serving the demo model through
# PyTriton's Python backend (scripts/services/triton).
#
#   scripts/services/services.sh install            fetch what is missing (Maven Central, apt, PyPI, npm)
#   scripts/services/services.sh up [SERVICE...]    start (idempotent) and wait until healthy
#                                                   (without SERVICE it also installs the Python readers
#                                                   the tests check files with: scripts/services/pytools)
#   scripts/services/services.sh down [SERVICE...]  stop cleanly
#   scripts/services/services.sh status             one line per service; exit 1 if any is down
#   scripts/services/services.sh env                the addresses, as shell exports for tests
#
# SERVICE is kafka, registry, redis, kserve, s3, azurite, kinesis, labelstudio, mlflow or triton (default: all). Where a Docker
# engine answers and CENTAUR_SERVICES_MODE is not `native`, `up`/`down` use docker-compose.yml for
# kafka, registry and redis; kserve, s3, azurite and kinesis always run natively.
#
# Settings (environment):
#   CENTAUR_SERVICES_HOME   cache of jars, data, logs and pids (default ~/.cache/centaur-services)
#   CENTAUR_KAFKA_PORT      broker port (9092); CENTAUR_KAFKA_CONTROLLER_PORT (9093)
#   CENTAUR_KAFKA_SASL_SSL_PORT  the broker's authenticated listener (9094): TLS with a certificate
#                           from a test CA made here (under the services home, kafka/tls/ca.pem) and
#                           SASL SCRAM-SHA-512, user centaur-test with a test password (a test
#                           broker: never expose it); native mode only
#   CENTAUR_REGISTRY_PORT   schema registry port (8081)
#   CENTAUR_REDIS_PORT      Redis port (6379)
#   CENTAUR_KSERVE_HTTP_PORT, CENTAUR_KSERVE_GRPC_PORT  the inference server's ports (8000, 8001)
#   CENTAUR_PYTHON          the Python (3.10 to 3.12) of the virtualenvs that run MLServer and the
#                           test readers (python3.11, else python3)
#   CENTAUR_S3_PORT         the S3-compatible server's port (9000)
#   CENTAUR_S3_ACCESS_KEY_ID, CENTAUR_S3_SECRET_ACCESS_KEY  the credentials it accepts (centaur, centaur-secret)
#   CENTAUR_AZURITE_PORT    Azurite's blob service port (10000)
#   CENTAUR_KINESIS_PORT    kinesalite's port, the Kinesis Data Streams API (4567)
#   CENTAUR_LABEL_STUDIO_PORT  Label Studio's port (8089); its admin is admin@centaur.local, and its
#                           legacy API token the test token below (a test server: never expose it)
#   CENTAUR_MLFLOW_PORT     MLflow's tracking server port (5000): SQLite backend, artifacts served by
#                           the server, no telemetry
#   CENTAUR_TRITON_HTTP_PORT, CENTAUR_TRITON_GRPC_PORT, CENTAUR_TRITON_METRICS_PORT  Triton's ports
#                           (8100, 8101, 8102)
#   CENTAUR_TRITON_PYTHON   the Python 3.12 whose virtualenv runs Triton (python3.12); tritonserver
#                           loads its shared library (libpython3.12.so)
#   CENTAUR_SERVICES_TIMEOUT_S  seconds to wait for each service to become healthy (120)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
HOME_DIR="${CENTAUR_SERVICES_HOME:-$HOME/.cache/centaur-services}"
KAFKA_PORT="${CENTAUR_KAFKA_PORT:-9092}"
CONTROLLER_PORT="${CENTAUR_KAFKA_CONTROLLER_PORT:-9093}"
SASL_SSL_PORT="${CENTAUR_KAFKA_SASL_SSL_PORT:-9094}"
KAFKA_SASL_USER=centaur-test
KAFKA_SASL_PASSWORD=scram-test-3f9c1e7a5b2d4c6e
KAFKA_TLS_PASSWORD=tls-store-test-8d2a6c4e
REGISTRY_PORT="${CENTAUR_REGISTRY_PORT:-8081}"
REDIS_PORT="${CENTAUR_REDIS_PORT:-6379}"
KSERVE_HTTP_PORT="${CENTAUR_KSERVE_HTTP_PORT:-8000}"
KSERVE_GRPC_PORT="${CENTAUR_KSERVE_GRPC_PORT:-8001}"
S3_PORT="${CENTAUR_S3_PORT:-9000}"
S3_ACCESS_KEY_ID="${CENTAUR_S3_ACCESS_KEY_ID:-centaur}"
S3_SECRET_ACCESS_KEY="${CENTAUR_S3_SECRET_ACCESS_KEY:-centaur-secret}"
AZURITE_PORT="${CENTAUR_AZURITE_PORT:-10000}"
KINESIS_PORT="${CENTAUR_KINESIS_PORT:-4567}"
LABEL_STUDIO_PORT="${CENTAUR_LABEL_STUDIO_PORT:-8089}"
MLFLOW_PORT="${CENTAUR_MLFLOW_PORT:-5000}"
TRITON_HTTP_PORT="${CENTAUR_TRITON_HTTP_PORT:-8100}"
TRITON_GRPC_PORT="${CENTAUR_TRITON_GRPC_PORT:-8101}"
TRITON_METRICS_PORT="${CENTAUR_TRITON_METRICS_PORT:-8102}"
# The test server's admin and legacy API token (40 hex digits, as Label Studio makes them).
LABEL_STUDIO_USER=admin@centaur.local
LABEL_STUDIO_PASSWORD=centaur-label-studio
LABEL_STUDIO_TOKEN=c3a7a0e1d2b4f6a8c0e2d4f6a8b0c2e4f6a8b0d2
# Azurite's one account: the emulator's fixed, publicly documented development account and key.
AZURITE_ACCOUNT=devstoreaccount1
AZURITE_KEY='Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='
# The model the kserve service serves (test/fixtures/kserve/<name>/model-settings.json).
KSERVE_MODEL=horse-or-human
TIMEOUT_S="${CENTAUR_SERVICES_TIMEOUT_S:-120}"
LOGS="$HOME_DIR/logs"
RUN="$HOME_DIR/run"
ALL=(kafka registry redis kserve s3 azurite kinesis labelstudio mlflow triton)
# The services docker-compose.yml knows; the others run natively in every mode.
COMPOSED=(kafka registry redis)

log() { printf '%s\n' "services: $*" >&2; }
die() { log "$*"; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() {
  local file="$RUN/$1.pid"
  [[ -f "$file" ]] && kill -0 "$(cat "$file")" 2>/dev/null
}

use_docker() {
  [[ "${CENTAUR_SERVICES_MODE:-auto}" != native ]] && command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

# --- install ------------------------------------------------------------------------------------

install_kafka() {
  local lib="$HOME_DIR/kafka/lib" stamp
  stamp="$(sha256sum "$HERE/kafka/pom.xml" | cut -c1-16)"
  if [[ -f "$lib/.stamp" && "$(cat "$lib/.stamp")" == "$stamp" ]]; then return; fi
  command -v java >/dev/null || die "java is not installed (Kafka needs Java 17)"
  command -v mvn >/dev/null || die "mvn is not installed (Kafka's jars come from Maven Central)"
  log "fetching the Kafka broker's jars from Maven Central into $lib"
  rm -rf "$lib"
  mkdir -p "$lib"
  mvn -q -B -f "$HERE/kafka/pom.xml" dependency:copy-dependencies -DoutputDirectory="$lib" -DincludeScope=runtime \
    || die "maven could not fetch Kafka"
  echo "$stamp" > "$lib/.stamp"
}

install_registry() {
  bash "$HERE/registry/install.sh" >/dev/null
}

install_redis() {
  command -v redis-server >/dev/null && return
  log "installing Debian's redis-server"
  local sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null \
    || die "cannot install redis-server with apt-get"
}

install_kserve() {
  install_venv kserve "MLServer and onnxruntime"
}

# A virtualenv from a pinned requirements file, rebuilt only when the file or the Python changes
# (the Python: $3, else CENTAUR_PYTHON, python3.11 or python3).
install_venv() {
  local name="$1" what="$2" venv="$HOME_DIR/$1/venv" python stamp
  python="${3:-${CENTAUR_PYTHON:-$(command -v python3.11 || command -v python3 || true)}}"
  [[ -n "$python" ]] || die "python3 is not installed (needed for $what)"
  "$python" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] <= (3, 12)))' \
    || die "$python is Python $("$python" -c 'import platform; print(platform.python_version())'); $what needs 3.10 to 3.12 (set CENTAUR_PYTHON)"
  stamp="$(cat "$HERE/$name/requirements.txt" <("$python" -c 'import sys; print(sys.version)') | sha256sum | cut -c1-16)"
  if [[ -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$stamp" ]]; then return; fi
  log "installing $what from PyPI into $venv"
  local started=$SECONDS
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "cannot create a virtualenv with $python (on Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$HERE/$name/requirements.txt" \
    > "$LOGS/$name-install.log" 2>&1 || { tail -n 30 "$LOGS/$name-install.log" >&2; die "pip could not install $what; log: $LOGS/$name-install.log"; }
  echo "$stamp" > "$venv/.stamp"
  log "$what installed in $((SECONDS - started)) s"
}

install_labelstudio() {
  install_venv labelstudio "Label Studio"
}

install_mlflow() {
  install_venv mlflow "MLflow"
}

# Triton's Python backend needs a Python 3.12 with its shared library (pyenv and python.org builds
# have it; the 3.11 stub failed in multiprocessing).
triton_python() {
  local candidate
  # The first that runs as 3.12: the setting, python3.12 on PATH (a pyenv shim may not be active),
  # pyenv's own 3.12 builds, the system's.
  for candidate in "${CENTAUR_TRITON_PYTHON:-}" "$(command -v python3.12 || true)" \
    $(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3.12 2>/dev/null | sort -r) /usr/local/bin/python3.12 /usr/bin/python3.12; do
    if [[ -n "$candidate" ]] && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; then
      echo "$candidate"
      return
    fi
  done
  die "no Python 3.12 found (Triton's Python backend needs one built with its shared library; set CENTAUR_TRITON_PYTHON)"
}

install_triton() {
  install_venv triton "Triton (nvidia-pytriton) and onnxruntime" "$(triton_python)"
}

install_pytools() {
  install_venv pytools "the test readers (pyarrow, Feast, tfrecord, Pillow, scikit-learn)"
}

install_s3() {
  local lib="$HOME_DIR/s3/lib" stamp
  stamp="$(sha256sum "$HERE/s3/pom.xml" | cut -c1-16)"
  if [[ -f "$lib/.stamp" && "$(cat "$lib/.stamp")" == "$stamp" && -f "$lib/s3proxy.jar" ]]; then return; fi
  command -v java >/dev/null || die "java is not installed (S3Proxy needs Java 17)"
  command -v mvn >/dev/null || die "mvn is not installed (S3Proxy's jar comes from Maven Central)"
  log "fetching S3Proxy from Maven Central into $lib"
  local started=$SECONDS
  rm -rf "$lib"
  mkdir -p "$lib"
  mvn -q -B -f "$HERE/s3/pom.xml" initialize -Ds3.lib="$lib" > "$LOGS/s3-install.log" 2>&1 \
    || { tail -n 30 "$LOGS/s3-install.log" >&2; die "maven could not fetch S3Proxy; log: $LOGS/s3-install.log"; }
  echo "$stamp" > "$lib/.stamp"
  log "S3Proxy installed in $((SECONDS - started)) s"
}

install_azurite() {
  local dir="$HOME_DIR/azurite/app" stamp
  command -v npm >/dev/null || die "npm is not installed (Azurite comes from npm)"
  stamp="$(cat "$HERE/azurite/package.json" "$HERE/azurite/package-lock.json" <(node --version) | sha256sum | cut -c1-16)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then return; fi
  log "installing Azurite from npm into $dir"
  local started=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$HERE/azurite/package.json" "$HERE/azurite/package-lock.json" "$dir/"
  (cd "$dir" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund) > "$LOGS/azurite-install.log" 2>&1 \
    || { tail -n 30 "$LOGS/azurite-install.log" >&2; die "npm could not install Azurite; log: $LOGS/azurite-install.log"; }
  echo "$stamp" > "$dir/.stamp"
  log "Azurite installed in $((SECONDS - started)) s"
}

install_kinesis() {
  local dir="$HOME_DIR/kinesis/app" stamp
  command -v npm >/dev/null || die "npm is not installed (kinesalite comes from npm)"
  stamp="$(cat "$HERE/kinesis/package.json" "$HERE/kinesis/package-lock.json" <(node --version) | sha256sum | cut -c1-16)"
  if [[ -f "$dir/.stamp" && "$(cat "$dir/.stamp")" == "$stamp" ]]; then return; fi
  log "installing kinesalite from npm into $dir"
  local started=$SECONDS
  rm -rf "$dir"
  mkdir -p "$dir"
  cp "$HERE/kinesis/package.json" "$HERE/kinesis/package-lock.json" "$dir/"
  # No install scripts: the optional native LevelDB binding is not built; the service keeps its streams in memory.
  (cd "$dir" && npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund) > "$LOGS/kinesis-install.log" 2>&1 \
    || { tail -n 30 "$LOGS/kinesis-install.log" >&2; die "npm could not install kinesalite; log: $LOGS/kinesis-install.log"; }
  echo "$stamp" > "$dir/.stamp"
  log "kinesalite installed in $((SECONDS - started)) s"
}

# --- start --------------------------------------------------------------------------------------

wait_healthy() {
  local name="$1" deadline=$((SECONDS + TIMEOUT_S))
  until "healthy_$name"; do
    if ! pid_alive "$name"; then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name exited during start; log: $LOGS/$name.log"
    fi
    if ((SECONDS > deadline)); then
      tail -n 30 "$LOGS/$name.log" >&2 || true
      die "$name did not become healthy within ${TIMEOUT_S}s; log: $LOGS/$name.log"
    fi
    sleep 0.5
  done
}

healthy_kafka() {
  port_open "$KAFKA_PORT" && port_open "$SASL_SSL_PORT" && grep -q "Kafka Server started" "$LOGS/kafka.log" 2>/dev/null || return 1
  [[ -f "$RUN/kafka.scram" ]] || kafka_scram_user
}

# The SASL user of the authenticated listener (SCRAM credentials live in the cluster's metadata),
# created through the plaintext listener once the broker answers; noted in a stamp file.
kafka_scram_user() {
  java -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -cp "$HOME_DIR/kafka/lib/*" kafka.admin.ConfigCommand \
    --bootstrap-server "127.0.0.1:$KAFKA_PORT" --alter --entity-type users --entity-name "$KAFKA_SASL_USER" \
    --add-config "SCRAM-SHA-512=[iterations=4096,password=$KAFKA_SASL_PASSWORD]" > "$LOGS/kafka-scram.log" 2>&1 || return 1
  touch "$RUN/kafka.scram"
}

# A test certificate authority and the broker's certificate (127.0.0.1 and localhost), once.
kafka_tls() {
  local dir="$HOME_DIR/kafka/tls"
  [[ -f "$dir/broker.p12" && -f "$dir/ca.pem" ]] && return
  mkdir -p "$dir"
  (
    cd "$dir"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 -subj "/CN=Centaur test CA" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=localhost" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > san.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out broker.pem -days 3650 -extfile san.ext 2>/dev/null
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -out broker.p12 -passout "pass:$KAFKA_TLS_PASSWORD"
  ) || die "cannot make the test certificates for Kafka's TLS listener"
}
healthy_registry() { curl -fsS "http://127.0.0.1:$REGISTRY_PORT/health/ready" >/dev/null 2>&1; }
healthy_redis() { [[ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; }
healthy_kserve() {
  curl -fsS "http://127.0.0.1:$KSERVE_HTTP_PORT/v2/models/$KSERVE_MODEL/ready" >/dev/null 2>&1 && port_open "$KSERVE_GRPC_PORT"
}
healthy_triton() {
  curl -fsS "http://127.0.0.1:$TRITON_HTTP_PORT/v2/models/$KSERVE_MODEL/ready" >/dev/null 2>&1 && port_open "$TRITON_GRPC_PORT"
}
healthy_labelstudio() { curl -fsS "http://127.0.0.1:$LABEL_STUDIO_PORT/health" 2>/dev/null | grep -q '"UP"'; }
healthy_mlflow() { [[ "$(curl -fsS "http://127.0.0.1:$MLFLOW_PORT/health" 2>/dev/null)" == OK ]]; }
healthy_s3() { curl -fsS "http://127.0.0.1:$S3_PORT/healthz" >/dev/null 2>&1; }
# Azurite answers an unsigned request with 403 and its own Server header.
healthy_azurite() { curl -sS -o /dev/null -D - "http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT?comp=list" 2>/dev/null | grep -qi '^server: Azurite-Blob'; }
# kinesalite checks that a request carries a signature but not the signature itself: ListStreams answers.
healthy_kinesis() {
  curl -fsS -X POST -H 'Content-Type: application/x-amz-json-1.1' -H 'X-Amz-Target: Kinesis_20131202.ListStreams' \
    -H 'X-Amz-Date: 20000101T000000Z' -H 'Authorization: AWS4-HMAC-SHA256 Credential=centaur/20000101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=0' \
    -d '{}' "http://127.0.0.1:$KINESIS_PORT/" 2>/dev/null | grep -q '"StreamNames"'
}

spawn() {
  local name="$1"
  shift
  nohup "$@" > "$LOGS/$name.log" 2>&1 < /dev/null &
  echo $! > "$RUN/$name.pid"
}

start_kafka() {
  local conf="$HOME_DIR/kafka/server.properties" data="$HOME_DIR/kafka/data"
  mkdir -p "$data"
  kafka_tls
  rm -f "$RUN/kafka.scram"
  sed -e "s#@KAFKA_PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$CONTROLLER_PORT#g" -e "s#@DATA_DIR@#$data#g" \
    -e "s#@SASL_SSL_PORT@#$SASL_SSL_PORT#g" -e "s#@TLS_DIR@#$HOME_DIR/kafka/tls#g" -e "s#@TLS_PASSWORD@#$KAFKA_TLS_PASSWORD#g" \
    "$HERE/kafka/server.properties" > "$conf"
  local cp="$HOME_DIR/kafka/lib/*"
  if [[ ! -f "$data/meta.properties" ]]; then
    local id
    id="$(java -cp "$cp" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    java -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -cp "$cp" kafka.tools.StorageTool format -t "$id" -c "$conf" \
      > "$LOGS/kafka-format.log" 2>&1 || { cat "$LOGS/kafka-format.log" >&2; die "cannot format Kafka's storage"; }
  fi
  : > "$LOGS/kafka.log"
  spawn kafka java -Xms256m -Xmx1g -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$HERE/kafka/log4j.properties" -Dkafka.logs.dir="$LOGS" \
    -cp "$cp" kafka.Kafka "$conf"
}

start_registry() {
  : > "$LOGS/registry.log"
  spawn registry bash -c "source '$HERE/registry/launch.sh' && registry_command $REGISTRY_PORT"
}

start_redis() {
  mkdir -p "$HOME_DIR/redis"
  spawn redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$HOME_DIR/redis" \
    --save "" --appendonly no --daemonize no --protected-mode yes
}

start_kserve() {
  mkdir -p "$HOME_DIR/kserve/work"
  : > "$LOGS/kserve.log"
  # The working folder is MLServer's scratch space (it adds it to sys.path), not the repository.
  spawn kserve env -C "$HOME_DIR/kserve/work" MLSERVER_HTTP_PORT="$KSERVE_HTTP_PORT" MLSERVER_GRPC_PORT="$KSERVE_GRPC_PORT" \
    PYTHONUNBUFFERED=1 "$HOME_DIR/kserve/venv/bin/python" "$HERE/kserve/serve.py" "$ROOT/test/fixtures/kserve"
}

start_triton() {
  local libdir
  libdir="$("$(triton_python)" -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR"))')"
  [[ -f "$libdir/libpython3.12.so" || -f "$libdir/libpython3.12.so.1.0" ]] || die "no libpython3.12.so in $libdir: Triton's Python backend needs a Python built with --enable-shared (set CENTAUR_TRITON_PYTHON)"
  mkdir -p "$HOME_DIR/triton/work"
  : > "$LOGS/triton.log"
  # PyTriton keeps its model store and the tritonserver's workspace under HOME; no telemetry.
  spawn triton env -C "$HOME_DIR/triton/work" HOME="$HOME_DIR/triton/work" LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
    TRITON_HTTP_PORT="$TRITON_HTTP_PORT" TRITON_GRPC_PORT="$TRITON_GRPC_PORT" TRITON_METRICS_PORT="$TRITON_METRICS_PORT" PYTHONUNBUFFERED=1 \
    "$HOME_DIR/triton/venv/bin/python" "$HERE/triton/serve.py" "$ROOT/models/demo/model.onnx"
}

start_labelstudio() {
  mkdir -p "$HOME_DIR/labelstudio/data"
  : > "$LOGS/labelstudio.log"
  # Its data (SQLite, uploads) lives under the services home; the admin and token are created on the
  # first start and kept. Local files are served from the system's temporary folder, where tests
  # write their images. No telemetry.
  spawn labelstudio env LABEL_STUDIO_BASE_DATA_DIR="$HOME_DIR/labelstudio/data" LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true \
    LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT="${TMPDIR:-/tmp}" SENTRY_DSN= FRONTEND_SENTRY_DSN= COLLECT_ANALYTICS=false PYTHONUNBUFFERED=1 \
    "$HOME_DIR/labelstudio/venv/bin/label-studio" start --no-browser --internal-host 127.0.0.1 --port "$LABEL_STUDIO_PORT" \
    --username "$LABEL_STUDIO_USER" --password "$LABEL_STUDIO_PASSWORD" --user-token "$LABEL_STUDIO_TOKEN" --enable-legacy-api-token
}

start_mlflow() {
  mkdir -p "$HOME_DIR/mlflow/artifacts"
  : > "$LOGS/mlflow.log"
  # Runs, experiments and the Model Registry in SQLite; artifacts stored under the services home and
  # served by the server itself (clients read and write them through its API). No telemetry.
  spawn mlflow env MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true PYTHONUNBUFFERED=1 \
    "$HOME_DIR/mlflow/venv/bin/mlflow" server --host 127.0.0.1 --port "$MLFLOW_PORT" --workers 1 \
    --backend-store-uri "sqlite:///$HOME_DIR/mlflow/mlflow.db" --artifacts-destination "$HOME_DIR/mlflow/artifacts" --serve-artifacts
}

start_s3() {
  local conf="$HOME_DIR/s3/s3proxy.properties" data="$HOME_DIR/s3/data"
  mkdir -p "$data"
  # The file-system backend: objects are plain files under data/<bucket>/, kept across restarts.
  cat > "$conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=$S3_ACCESS_KEY_ID
s3proxy.credential=$S3_SECRET_ACCESS_KEY
jclouds.provider=filesystem
jclouds.filesystem.basedir=$data
EOF
  : > "$LOGS/s3.log"
  spawn s3 java -Xms64m -Xmx512m -XX:+UseSerialGC -Djava.awt.headless=true -jar "$HOME_DIR/s3/lib/s3proxy.jar" --properties "$conf"
}

start_azurite() {
  local data="$HOME_DIR/azurite/data"
  mkdir -p "$data"
  : > "$LOGS/azurite.log"
  # No telemetry (Azurite collects it by default); any API version the SDK sends is accepted.
  spawn azurite node "$HOME_DIR/azurite/app/node_modules/azurite/dist/src/blob/main.js" \
    --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$data" \
    --disableTelemetry --skipApiVersionCheck --loose --silent
}

start_kinesis() {
  : > "$LOGS/kinesis.log"
  # On 127.0.0.1 only (kinesalite's own command line listens on every interface), streams in memory;
  # streams leave CREATING/UPDATING/DELETING after 50 ms (not 500); tests share the shard limit.
  # shellcheck disable=SC2016
  spawn kinesis node -e '
    const [, dir, port] = process.argv;
    const server = require(dir)({ createStreamMs: 50, updateStreamMs: 50, deleteStreamMs: 50, shardLimit: 1000 });
    server.listen(Number(port), "127.0.0.1", () => console.log(`kinesalite listening at http://127.0.0.1:${port}`));
    process.on("SIGTERM", () => server.close(() => process.exit(0)));
  ' "$HOME_DIR/kinesis/app/node_modules/kinesalite" "$KINESIS_PORT"
}

up_one() {
  local name="$1"
  if pid_alive "$name" && "healthy_$name"; then
    log "$name is already up"
    return
  fi
  local port ports
  case "$name" in
    kafka) ports=("$KAFKA_PORT:KAFKA_PORT" "$SASL_SSL_PORT:KAFKA_SASL_SSL_PORT") ;;
    registry) ports=("$REGISTRY_PORT:REGISTRY_PORT") ;;
    redis) ports=("$REDIS_PORT:REDIS_PORT") ;;
    kserve) ports=("$KSERVE_HTTP_PORT:KSERVE_HTTP_PORT" "$KSERVE_GRPC_PORT:KSERVE_GRPC_PORT") ;;
    s3) ports=("$S3_PORT:S3_PORT") ;;
    azurite) ports=("$AZURITE_PORT:AZURITE_PORT") ;;
    kinesis) ports=("$KINESIS_PORT:KINESIS_PORT") ;;
    labelstudio) ports=("$LABEL_STUDIO_PORT:LABEL_STUDIO_PORT") ;;
    mlflow) ports=("$MLFLOW_PORT:MLFLOW_PORT") ;;
    triton) ports=("$TRITON_HTTP_PORT:TRITON_HTTP_PORT" "$TRITON_GRPC_PORT:TRITON_GRPC_PORT" "$TRITON_METRICS_PORT:TRITON_METRICS_PORT") ;;
  esac
  for port in "${ports[@]}"; do
    if ! pid_alive "$name" && port_open "${port%%:*}"; then
      die "port ${port%%:*} is taken by another process; set CENTAUR_${port#*:} or stop it"
    fi
  done
  pid_alive "$name" || "start_$name"
  wait_healthy "$name"
  log "$name is up (pid $(cat "$RUN/$name.pid"), log $LOGS/$name.log)"
}

down_one() {
  local name="$1" file="$RUN/$1.pid"
  if ! pid_alive "$name"; then
    rm -f "$file"
    return
  fi
  local pid
  pid="$(cat "$file")"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name did not stop in 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
  log "$name is down"
}

status_one() {
  local name="$1"
  if pid_alive "$name" && "healthy_$name"; then
    echo "$name: up (pid $(cat "$RUN/$name.pid"), log $LOGS/$name.log)"
  else
    echo "$name: down"
    return 1
  fi
}

# --- main ---------------------------------------------------------------------------------------

cmd="${1:-status}"
shift || true
services=("$@")
[[ ${#services[@]} -eq 0 ]] && services=("${ALL[@]}")
for s in "${services[@]}"; do
  [[ " ${ALL[*]} " == *" $s "* ]] || die "unknown service '$s'; the services are: ${ALL[*]}"
done
mkdir -p "$LOGS" "$RUN"

case "$cmd" in
  install)
    for s in "${services[@]}"; do "install_$s"; done
    [[ $# -gt 0 ]] || install_pytools
    ;;
  up)
    native=("${services[@]}")
    if use_docker; then
      composed=()
      native=()
      for s in "${services[@]}"; do
        if [[ " ${COMPOSED[*]} " == *" $s "* ]]; then composed+=("$s"); else native+=("$s"); fi
      done
      [[ ${#composed[@]} -eq 0 ]] || docker compose -f "$ROOT/docker-compose.yml" up -d --wait "${composed[@]}"
    fi
    for s in "${native[@]}"; do "install_$s"; done
    [[ $# -gt 0 ]] || install_pytools
    for s in "${native[@]}"; do up_one "$s"; done
    ;;
  down)
    native=("${services[@]}")
    if use_docker; then
      docker compose -f "$ROOT/docker-compose.yml" down
      native=()
      for s in "${services[@]}"; do [[ " ${COMPOSED[*]} " == *" $s "* ]] || native+=("$s"); done
    fi
    for s in "${native[@]}"; do down_one "$s"; done
    ;;
  status)
    rc=0
    for s in "${services[@]}"; do status_one "$s" || rc=1; done
    exit "$rc"
    ;;
  env)
    echo "export CENTAUR_KAFKA_BROKERS=\${CENTAUR_KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"
    # The authenticated listener (SASL_SSL, SCRAM-SHA-512) and the test CA that signed its certificate.
    echo "export CENTAUR_KAFKA_SASL_SSL_BROKERS=\${CENTAUR_KAFKA_SASL_SSL_BROKERS:-127.0.0.1:$SASL_SSL_PORT}"
    echo "export CENTAUR_KAFKA_CA_FILE=\${CENTAUR_KAFKA_CA_FILE:-$HOME_DIR/kafka/tls/ca.pem}"
    echo "export CENTAUR_KAFKA_SASL_USERNAME=$KAFKA_SASL_USER CENTAUR_KAFKA_SASL_PASSWORD=$KAFKA_SASL_PASSWORD"
    echo "export CENTAUR_SCHEMA_REGISTRY_URL=\${CENTAUR_SCHEMA_REGISTRY_URL:-http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7}"
    echo "export CENTAUR_REDIS_URL=\${CENTAUR_REDIS_URL:-redis://127.0.0.1:$REDIS_PORT}"
    echo "export CENTAUR_KSERVE_URL=\${CENTAUR_KSERVE_URL:-http://127.0.0.1:$KSERVE_HTTP_PORT}"
    echo "export CENTAUR_PYTOOLS_PYTHON=\${CENTAUR_PYTOOLS_PYTHON:-$HOME_DIR/pytools/venv/bin/python}"
    echo "export CENTAUR_KSERVE_GRPC=\${CENTAUR_KSERVE_GRPC:-127.0.0.1:$KSERVE_GRPC_PORT}"
    echo "export CENTAUR_TRITON_URL=\${CENTAUR_TRITON_URL:-http://127.0.0.1:$TRITON_HTTP_PORT}"
    echo "export CENTAUR_TRITON_GRPC=\${CENTAUR_TRITON_GRPC:-127.0.0.1:$TRITON_GRPC_PORT}"
    echo "export CENTAUR_S3_ENDPOINT=\${CENTAUR_S3_ENDPOINT:-http://127.0.0.1:$S3_PORT}"
    # The test server's credentials and region, for the AWS SDK's standard chain.
    echo "export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$S3_SECRET_ACCESS_KEY AWS_REGION=us-east-1"
    echo "export CENTAUR_LABEL_STUDIO_URL=\${CENTAUR_LABEL_STUDIO_URL:-http://127.0.0.1:$LABEL_STUDIO_PORT}"
    echo "export CENTAUR_LABEL_STUDIO_TOKEN=\${CENTAUR_LABEL_STUDIO_TOKEN:-$LABEL_STUDIO_TOKEN}"
    echo "export CENTAUR_MLFLOW_URL=\${CENTAUR_MLFLOW_URL:-http://127.0.0.1:$MLFLOW_PORT}"
    # MLflow's own Python client, an independent reader of what Centaur records there.
    echo "export CENTAUR_MLFLOW_PYTHON=\${CENTAUR_MLFLOW_PYTHON:-$HOME_DIR/mlflow/venv/bin/python}"
    echo "export CENTAUR_KINESIS_ENDPOINT=\${CENTAUR_KINESIS_ENDPOINT:-http://127.0.0.1:$KINESIS_PORT}"
    echo "export CENTAUR_AZURE_BLOB_CONNECTION_STRING=\"\${CENTAUR_AZURE_BLOB_CONNECTION_STRING:-DefaultEndpointsProtocol=http;AccountName=$AZURITE_ACCOUNT;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/$AZURITE_ACCOUNT;}\""
    ;;
  *)
    die "unknown command '$cmd'; use install, up, down, status or env"
    ;;
esac
