/**
 * docker-compose.yml's whole stack, read as data (no Docker engine needed): every image pinned;
 * `docker compose up kafka registry redis` (scripts/services/services.sh) still starts those three
 * only; Kafka keeps its host listener and adds one for the compose network; `centaur` is built
 * from the Dockerfile, runs deploy/compose/topology.yaml (which the project's own loader accepts,
 * its model checks included) after healthy Kafka, registry and MinIO and the jobs that create the
 * topics and the bucket it uses; Prometheus loads the project's alert rules and scrapes centaur's
 * metrics port; Grafana provisions the repository's dashboard; MLflow and Label Studio run under
 * the `learning` profile. Where a Compose implementation is installed (`docker compose`, or
 * Debian's `docker-compose`), it must accept the file with every profile (`config -q`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { loadTopologyFile, parseTopology } from '../../src/topology/load.js';
import { copies, execForm, instructions, readDockerfile } from '../helpers/dockerfile.js';

interface DependsOn {
  condition?: string;
}
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  profiles?: string[];
  command?: string[] | string;
  entrypoint?: string[] | string;
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: string[];
  volumes?: string[];
  depends_on?: string[] | Record<string, DependsOn>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  restart?: string;
}
interface TopologyNode {
  kind: string;
  brokers?: string[];
  topics?: string[];
  topic?: string;
  schemaRegistry?: { url: string };
  uri?: string;
  allow?: string[];
  s3?: { endpoint?: string };
  model?: { path?: string };
}

const COMPOSE_FILE = 'docker-compose.yml';
const compose = parse(readFileSync(COMPOSE_FILE, 'utf8')) as { services: Record<string, Service>; volumes?: Record<string, unknown> };
const services = compose.services;
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
const runtime = readDockerfile().at(-1);
assert.ok(runtime, 'the Dockerfile has stages');

/** A value as Compose interpolates it with no variables set: `${NAME:-default}` → default, `$$` → `$`. */
function interpolated(value: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (match, _name: string | undefined, fallback: string | undefined) =>
    match === '$$' ? '$' : (fallback ?? ''),
  );
}

function service(name: string): Service {
  const s = services[name];
  assert.ok(s, `${COMPOSE_FILE} has a ${name} service`);
  return s;
}

function environment(s: Service): Record<string, string> {
  const entries = Array.isArray(s.environment)
    ? s.environment.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as const)
    : Object.entries(s.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)] as const);
  return Object.fromEntries(entries.map(([k, v]) => [k, interpolated(v)]));
}

function dependsOn(s: Service): Record<string, string> {
  if (Array.isArray(s.depends_on)) return Object.fromEntries(s.depends_on.map((d) => [d, 'service_started']));
  return Object.fromEntries(Object.entries(s.depends_on ?? {}).map(([d, v]) => [d, v.condition ?? 'service_started']));
}

function words(value: string[] | string | undefined): string[] {
  return Array.isArray(value) ? value : (value ?? '').split(/\s+/).filter((w) => w !== '');
}

/** `127.0.0.1:${VAR:-9464}:9464` → { ip, host: 9464, container: 9464 }. */
function published(entry: string): { ip: string; host: number; container: number } {
  const match = /^(?:([\d.]+):)?([^:]+):(\d+)$/.exec(interpolated(entry));
  assert.ok(match, `port entry ${entry} is ip:host:container`);
  return { ip: match[1] ?? '', host: Number(match[2]), container: Number(match[3]) };
}

/** `./a/b.yml:/etc/x.yml:ro` → { source, target, mode }. */
function mounts(s: Service): { source: string; target: string; mode: string }[] {
  return (s.volumes ?? []).map((v) => {
    const [source = '', target = '', mode = 'rw'] = v.split(':');
    return { source, target, mode };
  });
}

/** The services `docker compose up NAMES` starts: the named ones and, transitively, what they depend on. */
function startedBy(names: readonly string[]): Set<string> {
  const started = new Set<string>();
  const visit = (name: string): void => {
    if (started.has(name)) return;
    started.add(name);
    for (const dependency of Object.keys(dependsOn(service(name)))) visit(dependency);
  };
  names.forEach(visit);
  return started;
}

const centaur = service('centaur');
const topologyMount = mounts(centaur).find((m) => m.target === '/etc/centaur/topology.yaml');
assert.ok(topologyMount, 'centaur mounts a topology at /etc/centaur/topology.yaml');
const topologyFile = topologyMount.source.replace(/^\.\//, '');
const topologyText = readFileSync(topologyFile, 'utf8');
const topology = parse(topologyText) as { name: string; http?: { host?: string; port?: number }; nodes: Record<string, TopologyNode> };
const nodes = Object.values(topology.nodes);

test('every image is pinned to a version: a tag, never latest; the built one is tagged with the package version', () => {
  for (const [name, s] of Object.entries(services)) {
    assert.ok(s.image, `${name} names its image`);
    assert.match(s.image, /^[\w./-]+:[\w.-]+$/, `${name}: ${s.image} has a tag`);
    assert.doesNotMatch(s.image, /:(latest|main|master|nightly|develop)$/, `${name}: ${s.image} is a release`);
  }
  assert.equal(centaur.image, `centaur:${pkg.version}`);
});

test('services.sh: `docker compose up kafka registry redis` starts exactly those three', () => {
  const script = readFileSync('scripts/services/services.sh', 'utf8');
  const composed = /^COMPOSED=\(([^)]*)\)/m.exec(script)?.[1]?.trim().split(/\s+/);
  assert.deepEqual(composed, ['kafka', 'registry', 'redis']);
  assert.match(script, /docker compose -f "\$ROOT\/docker-compose\.yml" up -d --wait "\$\{composed\[@\]\}"/);
  assert.deepEqual([...startedBy(composed)].sort(), ['kafka', 'redis', 'registry']);
  for (const name of composed) assert.equal(service(name).profiles, undefined, `${name} starts without a profile`);
});

test('kafka: the host listener on 127.0.0.1 as before, and an internal one advertised to the compose network', () => {
  const kafka = service('kafka');
  const env = environment(kafka);
  /** `A://x:1,B://y:2` → { A: 'x:1', B: 'y:2' } (split at `separator`). */
  const byName = (list: string | undefined, separator: string): Record<string, string> =>
    Object.fromEntries((list ?? '').split(',').map((l): [string, string] => [l.slice(0, l.indexOf(separator)), l.slice(l.indexOf(separator) + separator.length)]));
  const listeners = Object.fromEntries(Object.entries(byName(env.KAFKA_LISTENERS, '://')).map(([k, v]): [string, string] => [k, v.split(':').at(-1) ?? '']));
  const advertised = byName(env.KAFKA_ADVERTISED_LISTENERS, '://');
  const protocols = byName(env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP, ':');
  assert.equal(advertised.PLAINTEXT, '127.0.0.1:9092', 'host clients (tests, benchmarks, npx centaur) as before');
  assert.equal(advertised.INTERNAL, 'kafka:29092', 'containers on the compose network');
  assert.equal(listeners.INTERNAL, '29092');
  assert.equal(listeners.PLAINTEXT, '9092');
  for (const name of Object.keys(listeners)) assert.ok(protocols[name], `${name} has a security protocol`);
  assert.equal(env.KAFKA_INTER_BROKER_LISTENER_NAME, 'INTERNAL');
  assert.deepEqual((kafka.ports ?? []).map(published), [{ ip: '127.0.0.1', host: 9092, container: 9092 }], 'only the host listener is published, on loopback');
  // Every Kafka address in the compose topology is the internal listener.
  for (const node of nodes) for (const broker of node.brokers ?? []) assert.equal(broker, advertised.INTERNAL);
});

test('centaur: built from the Dockerfile, runs the mounted topology after healthy kafka, registry and minio and the init jobs', () => {
  const build = typeof centaur.build === 'string' ? { context: centaur.build } : centaur.build;
  assert.equal(build?.context, '.');
  assert.ok(existsSync(path.join(build?.context ?? '.', build?.dockerfile ?? 'Dockerfile')));
  assert.equal(topologyMount.mode, 'ro');
  assert.equal(topologyFile, 'deploy/compose/topology.yaml');
  const cmd = execForm(instructions(runtime, 'CMD').at(-1)?.args ?? '');
  assert.equal(centaur.command, undefined, "the image's command");
  assert.deepEqual(cmd?.slice(0, 2), ['run', topologyMount.target]);
  const deps = dependsOn(centaur);
  for (const name of ['kafka', 'registry', 'minio']) assert.equal(deps[name], 'service_healthy', `centaur waits for a healthy ${name}`);
  for (const name of ['kafka-init', 'minio-init']) {
    assert.equal(deps[name], 'service_completed_successfully', `centaur waits for ${name} to finish`);
    assert.equal(service(name).restart, 'no', `${name} runs once`);
  }
  assert.deepEqual((centaur.ports ?? []).map(published), [{ ip: '127.0.0.1', host: 9464, container: topology.http?.port }]);
});

test('the mounted topology is valid: the project loader accepts it with the environment compose gives centaur, and with none', async () => {
  assert.ok(!topologyText.includes('${'), 'no ${ENV} references: the addresses are the compose names');
  parseTopology(topologyText, topologyFile, { env: {} });
  const parsed = parseTopology(topologyText, topologyFile, { env: environment(centaur) });
  assert.equal(parsed.http.host, '0.0.0.0', 'reachable from Prometheus and the published port');
  // With the model's checks: the image's /app/ paths mapped onto the repository's files.
  const imagePaths = [...topologyText.matchAll(/\/app\/(\S+?)(?=[\s,}\]])/g)].map((m) => m[1] ?? '');
  assert.ok(imagePaths.length > 0);
  const copied = copies(runtime).map((c) => c.destination.replace(/\/$/, ''));
  for (const p of imagePaths) {
    assert.ok(existsSync(p), `${p} exists in the repository`);
    assert.ok(copied.some((d) => p === d || p.startsWith(`${d}/`)), `the Dockerfile copies ${p} into /app`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-compose-topology-'));
  const mapped = path.join(dir, 'topology.yaml');
  await writeFile(mapped, topologyText.replaceAll('/app/', `${process.cwd()}/`));
  const loaded = await loadTopologyFile(mapped, { env: {} });
  assert.equal(loaded.name, topology.name);
});

test("the topology's addresses are the stack's services and their container ports", () => {
  const registryPort = published((service('registry').ports ?? [])[0] ?? '').container;
  const minioPorts = (service('minio').ports ?? []).map(published).map((p) => p.container);
  for (const node of nodes) {
    if (node.schemaRegistry) assert.equal(new URL(node.schemaRegistry.url).host, `registry:${registryPort}`);
    if (node.s3?.endpoint !== undefined) {
      const url = new URL(node.s3.endpoint);
      assert.equal(url.hostname, 'minio');
      assert.ok(minioPorts.includes(Number(url.port)), `${node.s3.endpoint}: MinIO's S3 port`);
    }
  }
  // The CLI's Kafka commands run in the container (publish-images, create-topics) reach the same.
  const env = environment(centaur);
  assert.equal(env.CENTAUR_KAFKA_BROKERS, 'kafka:29092');
  assert.equal(env.CENTAUR_SCHEMA_REGISTRY_URL, nodes.find((n) => n.schemaRegistry)?.schemaRegistry?.url);
  // The S3 credentials centaur gets are MinIO's.
  const minio = environment(service('minio'));
  assert.equal(env.AWS_ACCESS_KEY_ID, minio.MINIO_ROOT_USER);
  assert.equal(env.AWS_SECRET_ACCESS_KEY, minio.MINIO_ROOT_PASSWORD);
});

test('kafka-init creates every topic the topology reads and writes; minio-init the bucket of every s3:// URI', () => {
  const wanted = new Set<string>();
  for (const node of nodes) {
    for (const topic of node.topics ?? []) wanted.add(topic);
    if (node.kind === 'kafka-sink' && node.topic) wanted.add(node.topic);
    if (node.kind === 'kafka-dead-letter') wanted.add(node.topic ?? `${topology.name}.dlq`);
  }
  const script = words(service('kafka-init').command).join(' ');
  const created = /for topic in ([^;]+);/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
  assert.deepEqual(new Set(created), wanted);
  assert.match(script, /kafka-topics\.sh --bootstrap-server kafka:29092 --create --if-not-exists --topic "\$\$topic"/);

  const buckets = new Set(nodes.flatMap((n) => [n.uri, ...(n.allow ?? [])]).filter((u) => u?.startsWith('s3://')).map((u) => new URL(u ?? '').host));
  assert.ok(buckets.size > 0);
  const init = service('minio-init');
  const made = words(init.command);
  assert.deepEqual(words(init.entrypoint), ['mc']);
  assert.deepEqual(made.slice(0, 2), ['mb', '--ignore-existing']);
  const alias = Object.keys(environment(init)).find((k) => k.startsWith('MC_HOST_'))?.slice('MC_HOST_'.length);
  assert.deepEqual(new Set(made.slice(2)), new Set([...buckets].map((b) => `${alias}/${b}`)));
  assert.equal(new URL(environment(init)[`MC_HOST_${alias}`] ?? '').host, 'minio:9000');
});

test("prometheus: the project's alert rules beside a scrape configuration targeting centaur's metrics port", async (t) => {
  const prometheus = service('prometheus');
  const volumes = mounts(prometheus);
  const config = volumes.find((m) => m.target === '/etc/prometheus/prometheus.yml');
  assert.ok(config, 'a scrape configuration at /etc/prometheus/prometheus.yml');
  const alerts = volumes.find((m) => m.source === './deploy/prometheus/alerts.yml');
  assert.ok(alerts, 'the alert rules of deploy/prometheus/alerts.yml are mounted');
  assert.ok(words(prometheus.command).includes(`--config.file=${config.target}`));
  const configFile = config.source.replace(/^\.\//, '');
  const scrape = parse(await readFile(configFile, 'utf8')) as {
    rule_files: string[];
    scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
  };
  assert.deepEqual(
    scrape.rule_files.map((f) => path.posix.resolve(path.posix.dirname(config.target), f)),
    [alerts.target],
    'rule_files names the mounted alert rules',
  );
  const job = scrape.scrape_configs.find((j) => j.job_name === 'centaur');
  assert.ok(job);
  assert.equal(job.metrics_path ?? '/metrics', '/metrics');
  const metricsPort = (centaur.ports ?? []).map(published)[0]?.container;
  assert.deepEqual(job.static_configs.flatMap((c) => c.targets), [`centaur:${metricsPort}`]);
  assert.equal(topology.http?.port, metricsPort);

  // promtool accepts it, with the rules beside it as in the container (skipped without promtool).
  const promtool = process.env.CENTAUR_PROMTOOL ?? 'promtool';
  if (spawnSync(promtool, ['--version']).status !== 0) {
    if (process.env.CI === 'true') throw new Error(`${promtool} not usable; CI must install Debian's prometheus package`);
    return t.skip('promtool not installed');
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-compose-prometheus-'));
  await copyFile(configFile, path.join(dir, 'prometheus.yml'));
  await copyFile(alerts.source, path.join(dir, path.basename(alerts.target)));
  const check = spawnSync(promtool, ['check', 'config', path.join(dir, 'prometheus.yml')], { encoding: 'utf8' });
  assert.equal(check.status, 0, `${check.stdout}${check.stderr}`);
});

test("grafana: provisions the prometheus service as data source and the repository's dashboard", async () => {
  const grafana = service('grafana');
  const volumes = mounts(grafana);
  for (const m of volumes) assert.ok(existsSync(m.source), `${m.source} exists`);
  const provisioning = (kind: string) => volumes.find((m) => m.target === `/etc/grafana/provisioning/${kind}`);
  const datasources = provisioning('datasources');
  const dashboards = provisioning('dashboards');
  assert.ok(datasources && dashboards, 'datasource and dashboard provisioning mounted');

  const ds = parse(await readFile(path.join(datasources.source, 'prometheus.yaml'), 'utf8')) as { datasources: { type: string; url: string; isDefault?: boolean }[] };
  const prometheusPort = published((service('prometheus').ports ?? [])[0] ?? '').container;
  assert.deepEqual(ds.datasources.map((d) => [d.type, d.url, d.isDefault]), [['prometheus', `http://prometheus:${prometheusPort}`, true]]);

  const providers = parse(await readFile(path.join(dashboards.source, 'centaur.yaml'), 'utf8')) as { providers: { type: string; options: { path: string } }[] };
  const folder = providers.providers[0]?.options.path;
  assert.equal(providers.providers[0]?.type, 'file');
  const dashboard = volumes.find((m) => path.posix.dirname(m.target) === folder);
  assert.ok(dashboard, `a dashboard file mounted in ${folder}`);
  assert.equal(dashboard.source, './deploy/grafana/centaur-dashboard.json');
  const json = JSON.parse(await readFile(dashboard.source, 'utf8')) as { uid: string; title: string };
  assert.equal(json.uid, 'centaur-overview');
  assert.equal(environment(grafana).GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH, dashboard.target);
  assert.equal(dependsOn(grafana).prometheus, 'service_healthy');
});

test('health: every long-running service has a check (centaur: the image HEALTHCHECK); every wait targets one', () => {
  const oneShot = new Set(Object.entries(services).filter(([, s]) => s.restart === 'no').map(([n]) => n));
  assert.deepEqual([...oneShot].sort(), ['kafka-init', 'minio-init']);
  for (const [name, s] of Object.entries(services)) {
    if (oneShot.has(name)) continue;
    const hasCheck = name === 'centaur' ? instructions(runtime, 'HEALTHCHECK').length === 1 : (s.healthcheck?.test ?? []).length > 0;
    assert.ok(hasCheck, `${name} has a health check`);
    for (const [dependency, condition] of Object.entries(dependsOn(s))) {
      assert.ok(services[dependency], `${name} depends on ${dependency}, which exists`);
      if (condition === 'service_healthy') assert.ok(services[dependency]?.healthcheck, `${dependency} has a health check to wait for`);
      if (condition === 'service_completed_successfully') assert.ok(oneShot.has(dependency));
      assert.equal(services[dependency]?.profiles, s.profiles, `${name} and ${dependency} start together`);
    }
  }
});

test('profile learning: MLflow and Label Studio, only when named, on the ports services.sh gives their native twins', () => {
  const script = readFileSync('scripts/services/services.sh', 'utf8');
  const nativePort = (variable: string): number => Number(new RegExp(`\\$\\{${variable}:-(\\d+)\\}`).exec(script)?.[1]);
  for (const [name, variable, container] of [['mlflow', 'CENTAUR_MLFLOW_PORT', 5000], ['label-studio', 'CENTAUR_LABEL_STUDIO_PORT', 8080]] as const) {
    const s = service(name);
    assert.deepEqual(s.profiles, ['learning']);
    const [port] = (s.ports ?? []).map(published);
    assert.deepEqual(port, { ip: '127.0.0.1', host: nativePort(variable), container });
    assert.ok((s.ports ?? [])[0]?.includes(`\${${variable}:-`), `${name}'s host port moves with ${variable}`);
  }
  const unprofiled = Object.entries(services).filter(([, s]) => s.profiles === undefined).map(([n]) => n);
  assert.deepEqual(unprofiled.sort(), ['centaur', 'grafana', 'kafka', 'kafka-init', 'minio', 'minio-init', 'prometheus', 'redis', 'registry']);
});

test('host ports: on 127.0.0.1, each once, clear of the native services compose does not replace', () => {
  const script = readFileSync('scripts/services/services.sh', 'utf8');
  const nativeOnly = ['KSERVE_HTTP', 'KSERVE_GRPC', 'S3', 'AZURITE', 'KINESIS'].map((v) => Number(new RegExp(`CENTAUR_${v}_PORT:-(\\d+)`).exec(script)?.[1]));
  assert.ok(nativeOnly.every((p) => p > 0));
  const seen = new Map<number, string>();
  for (const [name, s] of Object.entries(services)) {
    for (const entry of s.ports ?? []) {
      const { ip, host } = published(entry);
      assert.equal(ip, '127.0.0.1', `${name} publishes ${entry} on loopback only`);
      assert.ok(!seen.has(host), `${name} and ${seen.get(host)} both publish ${host}`);
      assert.ok(!nativeOnly.includes(host), `${name}'s ${host} is a native service's port`);
      seen.set(host, name);
    }
  }
  for (const named of Object.values(services).flatMap((s) => mounts(s)).filter((m) => !m.source.startsWith('.'))) {
    assert.ok(compose.volumes && named.source in compose.volumes, `volume ${named.source} is declared`);
  }
});

test('a Compose implementation accepts the file with every profile (skipped where none is installed)', (t) => {
  const candidates: [string, string[]][] = [
    ['docker', ['compose']],
    ['docker-compose', []],
  ];
  const found = candidates.find(([command, prefix]) => spawnSync(command, [...prefix, 'version'], { encoding: 'utf8' }).status === 0);
  if (found === undefined) return t.skip('neither `docker compose` nor `docker-compose` is installed');
  const [command, prefix] = found;
  const result = spawnSync(command, [...prefix, '-f', COMPOSE_FILE, '--profile', 'triton', '--profile', 'learning', 'config', '-q'], { encoding: 'utf8' });
  assert.equal(result.status, 0, `${command} ${prefix.join(' ')} config -q: ${result.stdout}${result.stderr}`);
});
