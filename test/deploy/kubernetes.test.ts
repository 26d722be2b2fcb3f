/**
 * The Kubernetes manifests in deploy/kubernetes, read as data: each overlay assembled the way
 * kustomize builds it (resources, components, ConfigMap generators; the kustomizations use nothing
 * else, which a test insists on), then checked for what a cluster would only show at run time —
 * probes on the right port and paths, a grace period that outlasts the drain of the topology the
 * pods really run (parsed with the project's loader, with the environment the Deployment gives
 * it), an autoscaler capped at the topic's partitions, a disruption budget per Deployment, pinned
 * images, credentials only through secretKeyRef. Schemas are scripts/deploy/validate-kubernetes.sh's
 * job (kubeconform); where its kustomize is already cached, the last test compares the real render.
 * Nothing here downloads or needs a cluster.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { parseTopology } from '../../src/topology/load.js';
import type { Topology } from '../../src/topology/topology.js';

const ROOT = 'deploy/kubernetes';
const OVERLAYS = ['overlays/keda', 'overlays/hpa'] as const;
const TOPOLOGY_PATH = '/etc/centaur/topology.yaml';
/** Env names that hold credentials: they must come from a Secret. */
const SECRET_NAME = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|CREDENTIAL|PRIVATE/i;

type Obj = Record<string, unknown>;
interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Obj;
  data?: Record<string, string>;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string }; configMapKeyRef?: { name: string; key: string } };
}
interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: EnvVar[];
  envFrom?: unknown[];
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: { readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  terminationGracePeriodSeconds?: number;
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  volumes?: { name: string; configMap?: { name: string; items?: { key: string; path: string }[] }; emptyDir?: Obj }[];
}
interface Kustomization {
  resources?: string[];
  components?: string[];
  configMapGenerator?: { name: string; files?: string[]; literals?: string[] }[];
}

const KUSTOMIZATION_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'components', 'configMapGenerator']);

/** The objects `kustomize build dir` yields (generated ConfigMaps without their hash suffix). */
async function render(dir: string): Promise<K8sObject[]> {
  const k = parse(await readFile(path.join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization & Obj;
  const unknown = Object.keys(k).filter((key) => !KUSTOMIZATION_FIELDS.has(key));
  assert.deepEqual(unknown, [], `${dir}/kustomization.yaml uses fields this test does not assemble; teach render() them`);
  const objects: K8sObject[] = [];
  for (const entry of [...(k.resources ?? []), ...(k.components ?? [])]) {
    const target = path.join(dir, entry);
    if ((await stat(target)).isDirectory()) objects.push(...(await render(target)));
    else for (const doc of parseAllDocuments(await readFile(target, 'utf8'))) objects.push(doc.toJS() as K8sObject);
  }
  for (const gen of k.configMapGenerator ?? []) {
    const data: Record<string, string> = {};
    for (const file of gen.files ?? []) data[path.basename(file)] = await readFile(path.join(dir, file), 'utf8');
    for (const literal of gen.literals ?? []) {
      const eq = literal.indexOf('=');
      data[literal.slice(0, eq)] = literal.slice(eq + 1);
    }
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: gen.name }, data });
  }
  return objects;
}

function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found !== undefined, `${kind} ${name} missing`);
  return found;
}

function podSpec(deployment: K8sObject): PodSpec {
  return (deployment.spec as { template: { spec: PodSpec } }).template.spec;
}

function podLabels(deployment: K8sObject): Record<string, string> {
  return (deployment.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels;
}

function container(deployment: K8sObject, name: string): Container {
  const c = podSpec(deployment).containers.find((x) => x.name === name);
  assert.ok(c !== undefined, `container ${name} missing`);
  return c;
}

const selects = (selector: Record<string, string>, labels: Record<string, string>): boolean =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

/** The environment the pod gives the process: ConfigMap values as written, each secret a dummy. */
function podEnv(c: Container, objects: readonly K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const cm = e.valueFrom?.configMapKeyRef;
    if (cm !== undefined) {
      const value = find(objects, 'ConfigMap', cm.name).data?.[cm.key];
      assert.ok(value !== undefined, `env ${e.name}: ConfigMap ${cm.name} has no key ${cm.key}`);
      env[e.name] = value;
    } else if (e.valueFrom?.secretKeyRef !== undefined) env[e.name] = `dummy-${e.valueFrom.secretKeyRef.key}`;
    else if (e.value !== undefined) env[e.name] = e.value;
  }
  return env;
}

/** The topology the centaur pods run, loaded as `centaur run` would (an invalid one throws). */
function podTopology(objects: readonly K8sObject[]): Topology {
  const deployment = find(objects, 'Deployment', 'centaur');
  const c = container(deployment, 'centaur');
  assert.deepEqual(c.args?.slice(0, 2), ['run', TOPOLOGY_PATH]);
  const mount = c.volumeMounts?.find((m) => m.mountPath === path.dirname(TOPOLOGY_PATH));
  assert.ok(mount !== undefined, `nothing mounted at ${path.dirname(TOPOLOGY_PATH)}`);
  const volume = podSpec(deployment).volumes?.find((v) => v.name === mount.name);
  const cmName = volume?.configMap?.name;
  assert.ok(cmName !== undefined, `volume ${mount.name} is not a ConfigMap`);
  const item = volume?.configMap?.items?.find((i) => i.path === path.basename(TOPOLOGY_PATH));
  const text = find(objects, 'ConfigMap', cmName).data?.[item?.key ?? path.basename(TOPOLOGY_PATH)];
  assert.ok(text !== undefined, `ConfigMap ${cmName} does not hold ${path.basename(TOPOLOGY_PATH)}`);
  return parseTopology(text, TOPOLOGY_PATH, { env: podEnv(c, objects) });
}

function allContainers(objects: readonly K8sObject[]): { owner: string; c: Container }[] {
  return objects
    .filter((o) => o.kind === 'Deployment')
    .flatMap((d) => [...podSpec(d).containers, ...(podSpec(d).initContainers ?? [])].map((c) => ({ owner: d.metadata.name, c })));
}

for (const overlay of OVERLAYS) {
  test(`${overlay}: probes hit /readyz and /healthz on the port the topology serves`, async () => {
    const objects = await render(path.join(ROOT, overlay));
    const topology = podTopology(objects);
    const c = container(find(objects, 'Deployment', 'centaur'), 'centaur');
    const port = c.ports?.find((p) => p.name === 'metrics');
    assert.equal(port?.containerPort, topology.http.port);
    assert.equal(topology.http.host, '0.0.0.0', 'the probes come from outside the pod');
    assert.equal(c.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(c.livenessProbe?.httpGet?.path, '/healthz');
    assert.ok(c.startupProbe?.httpGet !== undefined, 'startupProbe missing');
    for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) assert.ok(probe?.httpGet?.port === 'metrics' || probe?.httpGet?.port === topology.http.port);
    const service = find(objects, 'Service', 'centaur');
    const servicePort = (service.spec as { ports: { name: string; targetPort: string | number }[] }).ports.find((p) => p.name === 'metrics');
    assert.ok(servicePort?.targetPort === 'metrics' || servicePort?.targetPort === topology.http.port);
    assert.ok(selects((service.spec as { selector: Record<string, string> }).selector, podLabels(find(objects, 'Deployment', 'centaur'))));
    const monitor = find(objects, 'ServiceMonitor', 'centaur');
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] };
    assert.ok(selects(spec.selector.matchLabels, service.metadata.labels ?? {}), 'the ServiceMonitor does not select the Service');
    assert.deepEqual(spec.endpoints.map((e) => [e.port, e.path]), [['metrics', '/metrics']]);
  });

  test(`${overlay}: the grace period outlasts the topology's drain`, async () => {
    const objects = await render(path.join(ROOT, overlay));
    const drainMs = podTopology(objects).limits.drainTimeoutMs;
    const graceS = podSpec(find(objects, 'Deployment', 'centaur')).terminationGracePeriodSeconds ?? 30;
    // The drain, then the final commit and the clients closing: at least 10 s more.
    assert.ok(graceS * 1000 >= drainMs + 10_000, `terminationGracePeriodSeconds ${graceS} s vs limits.drainTimeoutMs ${drainMs} ms + 10 s`);
  });

  test(`${overlay}: every Deployment has a disruption budget`, async () => {
    const objects = await render(path.join(ROOT, overlay));
    const budgets = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    for (const d of objects.filter((o) => o.kind === 'Deployment')) {
      const mine = budgets.filter((b) => selects((b.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels, podLabels(d)));
      assert.equal(mine.length, 1, `Deployment ${d.metadata.name}: ${mine.length} PodDisruptionBudgets`);
      assert.equal((mine[0]?.spec as { maxUnavailable?: number }).maxUnavailable, 1);
    }
  });

  test(`${overlay}: images are pinned, the pods run as non-root on read-only roots`, async () => {
    const objects = await render(path.join(ROOT, overlay));
    const version = (JSON.parse(await readFile('package.json', 'utf8')) as { version: string }).version;
    for (const { owner, c } of allContainers(objects)) {
      const tag = /^[^@]+?(?::([^/:@]+))?(@sha256:[0-9a-f]{64})?$/.exec(c.image);
      assert.ok(tag !== null && (tag[1] !== undefined || tag[2] !== undefined), `${owner}/${c.name}: image ${c.image} has no tag`);
      assert.notEqual(tag[1], 'latest', `${owner}/${c.name}: image ${c.image}`);
      assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${owner}/${c.name}: root file system writable`);
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${owner}/${c.name}`);
      assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/tmp'), `${owner}/${c.name}: no writable /tmp`);
      assert.ok(c.resources?.requests?.cpu !== undefined && c.resources.requests.memory !== undefined && c.resources.limits?.memory !== undefined, `${owner}/${c.name}: resources`);
    }
    const centaur = find(objects, 'Deployment', 'centaur');
    assert.equal(container(centaur, 'centaur').image, `centaur:${version}`);
    assert.deepEqual([podSpec(centaur).securityContext?.runAsNonRoot, podSpec(centaur).securityContext?.runAsUser], [true, 10001]);
    // Triton: the tag docker-compose.yml runs, one GPU, ready on the KServe v2 path.
    const compose = parse(await readFile('docker-compose.yml', 'utf8')) as { services: { triton: { image: string } } };
    const triton = container(find(objects, 'Deployment', 'triton'), 'triton');
    assert.equal(triton.image, compose.services.triton.image);
    assert.equal(String(triton.resources?.limits?.['nvidia.com/gpu']), '1');
    assert.equal(triton.readinessProbe?.httpGet?.path, '/v2/health/ready');
  });

  test(`${overlay}: credentials come only through secretKeyRef`, async () => {
    const objects = await render(path.join(ROOT, overlay));
    assert.deepEqual(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name), [], 'a Secret in the manifests would put credentials in git');
    for (const { owner, c } of allContainers(objects)) {
      assert.equal(c.envFrom, undefined, `${owner}/${c.name}: envFrom hides which variables hold secrets`);
      for (const e of c.env ?? []) {
        if (SECRET_NAME.test(e.name)) assert.ok(e.valueFrom?.secretKeyRef !== undefined, `${owner}/${c.name}: ${e.name} is not from a Secret`);
        if (e.valueFrom?.secretKeyRef !== undefined) assert.equal(e.valueFrom.secretKeyRef.name, 'centaur-credentials', `${owner}/${c.name}: ${e.name}`);
      }
    }
    for (const cm of objects.filter((o) => o.kind === 'ConfigMap')) {
      for (const key of Object.keys(cm.data ?? {})) assert.ok(!SECRET_NAME.test(key), `ConfigMap ${cm.metadata.name} holds ${key}`);
    }
    // The topology names every credential as an ${ENV} reference, never a value.
    const raw = parse(find(objects, 'ConfigMap', 'centaur-topology').data?.['topology.yaml'] ?? '') as unknown;
    const credentials: [string, unknown][] = [];
    const walk = (value: unknown, at: string): void => {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${at}[${i}]`));
      else if (value !== null && typeof value === 'object') {
        for (const [k, v] of Object.entries(value)) {
          if (/password|secret|token|accessKey|connectionString/i.test(k)) credentials.push([`${at}.${k}`, v]);
          walk(v, `${at}.${k}`);
        }
      }
    };
    walk(raw, 'topology');
    assert.ok(credentials.length > 0);
    for (const [at, v] of credentials) assert.match(String(v), /^\$\{[A-Z][A-Z0-9_]*\}$/, at);
  });
}

test('base has no autoscaler; each overlay exactly one, capped at the partitions of the group it follows', async () => {
  const base = await render(path.join(ROOT, 'base'));
  const autoscalers = (objects: readonly K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === 'ScaledObject' || o.kind === 'HorizontalPodAutoscaler');
  assert.deepEqual(autoscalers(base), []);
  const topology = podTopology(base);
  const source = [...topology.nodes.values()].find((n) => n.kind === 'kafka-source');
  const options = source?.options as { groupId: string; topics: string[] } | undefined;
  assert.ok(options !== undefined, 'the topology has no kafka-source');

  const keda = await render(path.join(ROOT, 'overlays/keda'));
  assert.deepEqual(autoscalers(keda).map((o) => o.kind), ['ScaledObject']);
  const scaled = find(keda, 'ScaledObject', 'centaur');
  const partitions = Number(scaled.metadata.annotations?.['centaur.dev/topic-partitions']);
  assert.ok(Number.isInteger(partitions) && partitions > 0, 'annotation centaur.dev/topic-partitions missing');
  const spec = scaled.spec as {
    scaleTargetRef: { name: string };
    maxReplicaCount: number;
    triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string } }[];
  };
  assert.equal(spec.scaleTargetRef.name, 'centaur');
  assert.equal(spec.maxReplicaCount, partitions, 'maxReplicaCount must equal the partitions: more consumers would sit idle');
  const trigger = spec.triggers.find((t) => t.type === 'kafka');
  assert.ok(trigger !== undefined);
  assert.equal(trigger.metadata.consumerGroup, options.groupId);
  assert.ok(options.topics.includes(trigger.metadata.topic ?? ''), `topic ${trigger.metadata.topic} is not the source's`);
  assert.ok(Number(trigger.metadata.lagThreshold) > 0);
  const env = container(find(keda, 'Deployment', 'centaur'), 'centaur').env?.map((e) => e.name) ?? [];
  assert.ok(env.includes(trigger.metadata.bootstrapServersFromEnv ?? ''), 'bootstrapServersFromEnv names no env of the container');
  const auth = find(keda, 'TriggerAuthentication', trigger.authenticationRef?.name ?? '');
  for (const ref of (auth.spec as { secretTargetRef: { name: string }[] }).secretTargetRef) assert.equal(ref.name, 'centaur-credentials');
  // The ScaledObject's source file says so too, where an operator edits it.
  const file = await readFile(path.join(ROOT, 'overlays/keda/scaledobject.yaml'), 'utf8');
  assert.match(file, /maxReplicaCount: \d+ *# = partitions/);

  const hpa = await render(path.join(ROOT, 'overlays/hpa'));
  assert.deepEqual(autoscalers(hpa).map((o) => o.kind), ['HorizontalPodAutoscaler']);
  const h = find(hpa, 'HorizontalPodAutoscaler', 'centaur');
  assert.equal((h.spec as { maxReplicas: number }).maxReplicas, partitions);
  assert.equal(h.metadata.annotations?.['centaur.dev/topic-partitions'], String(partitions));
  assert.equal((find(base, 'Deployment', 'centaur').spec as { replicas?: number }).replicas, undefined, 'replicas belongs to the autoscaler');
});

/** kustomize from scripts/deploy/validate-kubernetes.sh's cache, if it ran here; never downloaded. */
function cachedKustomize(): string | undefined {
  const tools = path.join(process.env.CENTAUR_DEPLOY_CACHE ?? path.join(homedir(), '.cache', 'centaur-deploy'), 'tools');
  if (!existsSync(tools)) return undefined;
  const dir = readdirSync(tools).filter((d) => d.startsWith('kustomize-') && !d.endsWith('.tmp')).sort().pop();
  const bin = dir === undefined ? undefined : path.join(tools, dir, 'kustomize');
  return bin !== undefined && existsSync(bin) ? bin : undefined;
}

test('kustomize renders the same objects as this test assembles', async (t) => {
  const kustomize = cachedKustomize();
  if (kustomize === undefined) {
    t.skip('kustomize is not cached; scripts/deploy/validate-kubernetes.sh installs it');
    return;
  }
  const names = (objects: readonly K8sObject[]): string[] => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
  for (const dir of ['base', ...OVERLAYS]) {
    const r: SpawnSyncReturns<string> = spawnSync(kustomize, ['build', path.join(ROOT, dir)], { encoding: 'utf8' });
    assert.equal(r.status, 0, `kustomize build ${dir}:\n${r.stderr}`);
    const rendered = parseAllDocuments(r.stdout).map((d) => d.toJS() as K8sObject);
    // Generated ConfigMaps carry a hash of their content: strip it to compare.
    const unhashed = rendered.map((o) => (o.kind === 'ConfigMap' ? { ...o, metadata: { ...o.metadata, name: o.metadata.name.replace(/-[a-z0-9]{10}$/, '') } } : o));
    const assembled = await render(path.join(ROOT, dir));
    assert.deepEqual(names(unhashed), names(assembled), dir);
    assert.equal(podTopology(rendered).name, podTopology(assembled).name);
  }
});
