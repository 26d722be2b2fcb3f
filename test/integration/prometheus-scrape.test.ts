/**
 * A real Prometheus scrapes a running `centaur run` whose watched folder keeps receiving images:
 * the documented series arrive, the p95 latency query of the alerts answers with a number, every
 * alert rule in deploy/prometheus/alerts.yml evaluates cleanly, and the Grafana dashboard's queries
 * run, the core panels with data. Needs Debian's `prometheus` package: skipped without it, failed
 * under CI=true.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startCentaur } from '../helpers/centaur-process.js';

const PROMETHEUS = process.env.CENTAUR_PROMETHEUS ?? '/usr/bin/prometheus';
const MODEL = path.resolve('test/fixtures/tiny-model');
const IMAGES = path.resolve('data/quickstart/horses');
const ALERTS = path.resolve('deploy/prometheus/alerts.yml');
const DASHBOARD = path.resolve('deploy/grafana/centaur-dashboard.json');

// Panels that a file topology with labelled inputs must fill; Kafka, drift and dead-letter
// panels stay empty here.
const PANELS_WITH_DATA = [
  'Instances up', 'Instances ready', 'Throughput', 'End-to-end latency', 'Node throughput', 'Batch fill',
  'Batch size', 'Inference time per image', 'Model versions', 'In flight', 'Accuracy from labels',
  'Memory', 'Event-loop lag',
];

interface QueryResult {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}
interface RulesResult {
  data: { groups: { rules: { name: string; health: string; lastError?: string; lastEvaluation: string }[] }[] };
}
interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

/** Skips the test (or fails it under CI=true) when Prometheus is not installed. */
function requirePrometheus(t: TestContext): boolean {
  const probe = spawnSync(PROMETHEUS, ['--version'], { encoding: 'utf8' });
  if (probe.error === undefined && probe.status === 0) return true;
  const problem = probe.error?.message ?? `exit ${probe.status}`;
  if (process.env.CI === 'true') throw new Error(`${PROMETHEUS} not usable (${problem}); CI must install Debian's prometheus package`);
  t.skip(`${PROMETHEUS} not usable (${problem}); install it with apt-get install prometheus`);
  return false;
}

/** A TCP port free on the loopback interface right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function eventually<T>(what: string, timeoutMs: number, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: Error | undefined;
  for (;;) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (error) {
      last = error as Error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${last.message}`}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

/** Copies images into the watched folder every 50 ms (atomically, by rename) until stopped. */
function feed(inbox: string, staging: string, images: readonly string[]): () => Promise<void> {
  let n = 0;
  let running = Promise.resolve();
  const timer = setInterval(() => {
    const name = `frame-${String(n).padStart(6, '0')}.jpg`;
    const source = path.join(IMAGES, images[n % images.length] as string);
    n += 1;
    running = running.then(async () => {
      await copyFile(source, path.join(staging, name));
      await rename(path.join(staging, name), path.join(inbox, name));
    });
  }, 50);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

test('Prometheus scrapes a running topology: documented series, latency quantile, alert rules and dashboard queries', async (t) => {
  if (!requirePrometheus(t)) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-prometheus-'));
  const inbox = path.join(dir, 'inbox', 'horse');
  const staging = path.join(dir, 'staging');
  await mkdir(inbox, { recursive: true });
  await mkdir(staging);
  const file = path.join(dir, 'topology.yaml');
  await writeFile(file, `version: 1
name: scraped
nodes:
  images: { kind: files-source, path: inbox, watch: true, pollIntervalMs: 100, labels: parent-folder }
  decode: { kind: decode-image, from: [images], size: [4, 4] }
  batch: { kind: micro-batch, from: [decode], maxSize: 4, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: false }
  out: { kind: files-sink, from: [infer], dir: out }
`);
  const stopFeeding = feed(inbox, staging, (await readdir(IMAGES)).sort().slice(0, 20));
  const centaur = startCentaur(file, {}, ['--http', '127.0.0.1:0']);
  t.after(async () => {
    await stopFeeding();
    if (centaur.child.exitCode === null) centaur.child.kill('SIGKILL');
  });

  const listening = await centaur.waitForLog((l) => l.msg === 'HTTP server listening.', 60000);
  const target = new URL(String(listening.url)).host;

  const port = await freePort();
  await writeFile(path.join(dir, 'prometheus.yml'), `global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }
rule_files: [${JSON.stringify(ALERTS)}]
scrape_configs:
  - job_name: centaur
    static_configs: [{ targets: ['${target}'] }]
`);
  const prometheus = spawn(PROMETHEUS, [
    `--config.file=${path.join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  t.after(() => {
    if (prometheus.exitCode === null) prometheus.kill('SIGKILL');
  });
  let prometheusLog = '';
  prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusLog = (prometheusLog + chunk.toString()).slice(-4000)));
  const api = `http://127.0.0.1:${port}`;
  await eventually(`Prometheus ready (log: ${prometheusLog})`, 30000, async () => ((await fetch(`${api}/-/ready`)).ok ? true : undefined));

  const query = async (expr: string): Promise<QueryResult> => (await (await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as QueryResult;
  const series = async (expr: string): Promise<{ metric: Record<string, string>; value: [number, string] }[] | undefined> => {
    const r = await query(expr);
    assert.equal(r.status, 'success', `${expr}: ${r.error}`);
    return (r.data?.result.length ?? 0) > 0 ? r.data?.result : undefined;
  };

  const up = await eventually('up{job="centaur"}', 20000, () => series('up{job="centaur"} == 1'));
  assert.equal(up[0]?.metric.instance, target);
  const running = await eventually('centaur_up', 20000, () => series('centaur_up == 1'));
  assert.equal(running[0]?.metric.topology, 'scraped');
  const sent = await eventually('centaur_node_sent_total for the source and the sink', 30000, async () => {
    const r = await series('centaur_node_sent_total > 0');
    const nodes = new Set(r?.map((s) => s.metric.node));
    return nodes.has('images') && nodes.has('out') ? r : undefined;
  });
  assert.ok(sent.every((s) => s.metric.topology === 'scraped' && s.metric.kind !== undefined));
  const buckets = await eventually('centaur_end_to_end_latency_seconds_bucket', 20000, () => series('centaur_end_to_end_latency_seconds_bucket'));
  assert.ok(buckets.some((s) => s.metric.le === '+Inf'));
  await eventually('Node.js default metrics', 20000, () => series('nodejs_eventloop_lag_seconds{job="centaur"} or process_resident_memory_bytes{job="centaur"}'));
  const p95 = await eventually('a finite p95 end-to-end latency', 30000, async () => {
    const r = await series('histogram_quantile(0.95, sum by (le) (rate(centaur_end_to_end_latency_seconds_bucket[30s])))');
    const value = Number(r?.[0]?.value[1]);
    return Number.isFinite(value) ? value : undefined;
  });
  assert.ok(p95 > 0 && p95 <= 10, `p95 ${p95} s`);

  // Every alert rule has been evaluated against the live series without an error (the SLO group is
  // evaluated once a minute, so its first evaluation may come up to a minute after the start).
  const rules = await eventually('every alert rule evaluated', 90000, async () => {
    const r = (await (await fetch(`${api}/api/v1/rules`)).json()) as RulesResult;
    const all = r.data.groups.flatMap((g) => g.rules);
    return all.length > 0 && all.every((rule) => !rule.lastEvaluation.startsWith('0001')) ? all : undefined;
  });
  assert.deepEqual(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`), []);

  // Every dashboard query runs; the core panels show data.
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] };
  const withData = new Set<string>();
  for (const panel of panelsOf(dashboard.panels)) {
    for (const target of panel.targets ?? []) {
      if (target.expr === undefined) continue;
      const expr = target.expr.replaceAll('$__rate_interval', '30s').replace(/\$[a-z_]+/g, '.*');
      const r = await query(expr);
      assert.equal(r.status, 'success', `panel ${panel.title}: ${expr}: ${r.error}`);
      if ((r.data?.result.length ?? 0) > 0) withData.add(panel.title ?? '');
    }
  }
  assert.deepEqual(PANELS_WITH_DATA.filter((title) => !withData.has(title)), [], 'panels without data');

  await stopFeeding();
  centaur.child.kill('SIGTERM');
  assert.equal(await centaur.exited, 0, 'a stopped instance drains and exits 0');
  prometheus.kill('SIGTERM');
});
