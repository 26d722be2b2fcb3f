# Centaur's container image: `centaur run` with every Kafka client, the CPU build of onnxruntime,
# the demo model, the example topologies and the quick-start images, as a non-root user.
#
#   docker build -t centaur:0.1.0 .
#   docker run --rm centaur:0.1.0 run topologies/demo.yaml --no-http          # smoke test: the quick start
#   docker run -d -p 127.0.0.1:9464:9464 -v "$PWD/my.yaml:/etc/centaur/topology.yaml:ro" centaur:0.1.0
#
# deploy/README.md ("Container image") explains the choices and the image's size;
# test/deploy/dockerfile.test.ts checks this file as data. Needs BuildKit (Docker's default builder).

# --- build: npm ci (native addons compiled here), the build, then the dev dependencies removed ----
FROM node:24.22.3-bookworm-slim AS build

# The toolchain and the headers the native addons build against, as .ci/run installs them:
# node-rdkafka links Debian's librdkafka (BUILD_LIBRDKAFKA=0); @confluentinc/kafka-javascript builds
# its own librdkafka 2.x against OpenSSL, zlib, SASL, lz4 and zstd; centaur-jpeg-scaled links libturbojpeg.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential python3 pkg-config \
      librdkafka-dev libssl-dev zlib1g-dev libsasl2-dev liblz4-dev libzstd-dev libturbojpeg0-dev \
 && rm -rf /var/lib/apt/lists/*

# The npm of scripts/node/ensure-node.sh: npm 11.16 and later honour package.json's allowScripts,
# which keeps onnxruntime-node's install script (a CUDA download from outside the npm registry) off,
# so the image has onnxruntime's CPU build. node-gyp builds against the image's own Node headers.
RUN npm install -g npm@11.21.3 --no-audit --no-fund
ENV BUILD_LIBRDKAFKA=0 \
    npm_package_config_node_gyp_nodedir=/usr/local

WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY native/ native/
COPY scripts/native/ scripts/native/
COPY scripts/build-dashboard.ts scripts/
COPY src/ src/

# `npm ci` runs `prepare`: it builds @confluentinc/kafka-javascript from source, then `npm run
# build` (dist/ and the dashboard). Then the dev dependencies go, and what no addon loads at run
# time: the Confluent client's librdkafka sources, objects and static libraries (its addon loads
# build/deps/librdkafka.so.1), node-rdkafka's unused bundled librdkafka (it links Debian's), the
# other platforms' onnxruntime binaries; about 530 MB of 910. The optional addons fail soft in
# `npm ci`; the require() at the end makes the image fail instead.
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund \
 && test -f dist/cli/centaur.js && test -f dist/dashboard/index.html \
 && npm prune --omit=dev --no-audit --no-fund \
 && ck=node_modules/@confluentinc/kafka-javascript \
 && rm -rf "$ck/deps/librdkafka" "$ck/build/deps/"*.a "$ck/build/Release/obj.target" "$ck/build/Release/.deps" node_modules/node-rdkafka/deps/librdkafka \
 && strip --strip-unneeded "$ck/build/deps/"*.so.1 "$ck/build/Release/"*.node \
 && find node_modules/onnxruntime-node/bin/napi-v6 -mindepth 2 -maxdepth 2 -type d ! -path "*/linux/$(node -p process.arch)" -exec rm -rf {} + \
 && node -e "require('node-rdkafka'); require('@confluentinc/kafka-javascript'); require('centaur-jpeg-scaled'); require('onnxruntime-node'); require('sharp')"

# --- runtime: Node, the shared libraries the addons link, the app; no compiler, no dev deps ------
FROM node:24.22.3-bookworm-slim AS runtime

# Runtime halves of the build stage's -dev packages (librdkafka1 and librdkafka++1 for
# node-rdkafka, the others for @confluentinc/kafka-javascript's librdkafka and
# centaur-jpeg-scaled); ca-certificates for librdkafka's TLS to brokers with public certificates.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      librdkafka1 librdkafka++1 libssl3 zlib1g libsasl2-2 liblz4-1 libzstd1 libturbojpeg0 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 centaur \
 && useradd --uid 10001 --gid 10001 --create-home --home-dir /home/centaur --shell /usr/sbin/nologin centaur \
 && mkdir -p /etc/centaur /app/out \
 && chown 10001:10001 /app/out

WORKDIR /app
# JSON logs (one object a line on stderr); the health check's address (the HTTP port below).
ENV NODE_ENV=production \
    CENTAUR_LOG_FORMAT=json \
    CENTAUR_HEALTHCHECK_URL=http://127.0.0.1:9464/readyz

# The app, owned by root and read-only to the user that runs it; out/ (the example topologies'
# outputs) and the user's home (model caches under ~/.cache/centaur) are writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules/ node_modules/
COPY --from=build /app/native/jpeg-scaled/ native/jpeg-scaled/
COPY --from=build /app/dist/ dist/
COPY --from=build /app/src/inference/kserve/grpc_service.proto src/inference/kserve/
COPY bin/ bin/
COPY schemas/ schemas/
COPY models/demo/ models/demo/
COPY topologies/ topologies/
COPY data/quickstart/ data/quickstart/

USER 10001:10001
EXPOSE 9464
# Ready means every source consumes and every sink writes (/readyz answers 503 naming what is not).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.CENTAUR_HEALTHCHECK_URL, { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

ENTRYPOINT ["node", "bin/centaur.cjs"]
# The topology to mount at /etc/centaur/topology.yaml; HTTP (metrics, health, status API,
# dashboard) on every interface of the container, since the topology's default is loopback.
CMD ["run", "/etc/centaur/topology.yaml", "--http", "0.0.0.0:9464"]
