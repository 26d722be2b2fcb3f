/**
 * The monitoring files in deploy/: promtool accepts the scrape configuration, the alert rules and
 * every dashboard query, the rules' unit tests pass and try each alert both ways, and every
 * Centaur metric that the alerts and the Grafana dashboard use is documented in docs/METRICS.md.
 * Needs promtool (Debian's `prometheus` package): skipped without it, failed under CI=true.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, stringify } from 'yaml';

const PROMTOOL = process.env.CENTAUR_PROMTOOL ?? 'promtool';
const CONFIG = 'deploy/prometheus/prometheus.yml';
const ALERTS = 'deploy/prometheus/alerts.yml';
const ALERT_TESTS = 'deploy/prometheus/alerts.test.yml';
const DASHBOARD = 'deploy/grafana/centaur-dashboard.json';

// Metrics that alerts or panels already use but that a later feature exports and documents.
// Remove a name once docs/METRICS.md lists it (a test below insists).
const EXPORTED_BY_LATER_FEATURES = new Set<string>([]);

interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}
interface Panel {
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string }[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query?: string } }[] };
}

/** Runs promtool, returning its exit code and output. */
function promtool(...args: string[]): { code: number | null; output: string } {
  const result = spawnSync(PROMTOOL, args, { encoding: 'utf8' });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

let available: string | undefined | null = null;

/** Skips the test (or fails it under CI=true) when promtool is not installed. */
function requirePromtool(t: TestContext): boolean {
  if (available === null) {
    const probe = spawnSync(PROMTOOL, ['--version'], { encoding: 'utf8' });
    available = probe.error === undefined && probe.status === 0 ? undefined : (probe.error?.message ?? `exit ${probe.status}`);
  }
  if (available === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`${PROMTOOL} not usable (${available}); CI must install Debian's prometheus package`);
  t.skip(`${PROMTOOL} not usable (${available}); install it with apt-get install prometheus`);
  return false;
}

function panelsOf(panels: readonly Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...panelsOf(p.panels ?? [])]);
}

async function dashboard(): Promise<Dashboard> {
  return JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
}

async function alertRules(): Promise<RuleFile> {
  return parse(await readFile(ALERTS, 'utf8')) as RuleFile;
}

/** Every query of the dashboard's panels, with Grafana's variables replaced by PromQL. */
function panelQueries(d: Dashboard): { title: string; expr: string }[] {
  return panelsOf(d.panels).flatMap((p) =>
    (p.targets ?? []).flatMap((t) =>
      t.expr === undefined ? [] : [{ title: p.title ?? '', expr: t.expr.replaceAll('$__rate_interval', '1m').replace(/\$[a-z_]+/g, '.*') }],
    ),
  );
}

/** The metric families an expression names, histogram series suffixes stripped. */
function centaurMetrics(expr: string): string[] {
  return [...expr.matchAll(/\bcentaur_[a-z_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));
}

async function documentedMetrics(): Promise<Set<string>> {
  const text = await readFile('docs/METRICS.md', 'utf8');
  return new Set([...text.matchAll(/^\|\s*`(centaur_[a-z_]+)`\s*\|/gm)].map((m) => m[1] as string));
}

test('promtool accepts the scrape configuration and the alert rules', (t) => {
  if (!requirePromtool(t)) return;
  for (const args of [['check', 'config', CONFIG], ['check', 'rules', ALERTS]]) {
    const r = promtool(...args);
    assert.equal(r.code, 0, `promtool ${args.join(' ')}:\n${r.output}`);
  }
});

test('the alert unit tests pass', (t) => {
  if (!requirePromtool(t)) return;
  const r = promtool('test', 'rules', ALERT_TESTS);
  assert.equal(r.code, 0, `promtool test rules ${ALERT_TESTS}:\n${r.output}`);
});

test('every alert has a unit test where it fires and one where it does not', async () => {
  const alerts = (await alertRules()).groups.flatMap((g) => g.rules.flatMap((r) => (r.alert === undefined ? [] : [r.alert])));
  const cases = (parse(await readFile(ALERT_TESTS, 'utf8')) as RuleTests).tests.flatMap((c) => c.alert_rule_test ?? []);
  assert.ok(alerts.length >= 6, `alerts found: ${alerts.join(', ')}`);
  for (const alert of alerts) {
    const mine = cases.filter((c) => c.alertname === alert);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${alert}: no test where it fires`);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${alert}: no test where it stays silent`);
  }
});

test('every dashboard query is valid PromQL and uses the templated data source', async (t) => {
  const d = await dashboard();
  const queries = panelQueries(d);
  assert.ok(queries.length > 20, `queries found: ${queries.length}`);
  const variables = d.templating.list.map((v) => `${v.name}:${v.type}`);
  for (const wanted of ['datasource:datasource', 'topology:query', 'instance:query']) assert.ok(variables.includes(wanted), `variable ${wanted} missing`);
  for (const p of panelsOf(d.panels)) {
    if (p.targets !== undefined) assert.equal(p.datasource?.uid, '${datasource}', `panel ${p.title}: data source is not the variable`);
  }
  if (!requirePromtool(t)) return;
  // promtool checks PromQL offline when it is the expression of a recording rule.
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-dashboard-rules-'));
  const file = path.join(dir, 'dashboard-queries.yml');
  const rules = queries.map((q, i) => ({ record: `dashboard:query_${i}`, expr: q.expr }));
  await writeFile(file, stringify({ groups: [{ name: 'dashboard', rules }] }));
  const r = promtool('check', 'rules', file);
  assert.equal(r.code, 0, `dashboard queries (panels: ${queries.map((q) => q.title).join(', ')}):\n${r.output}`);
});

test('every Centaur metric that the alerts and the dashboard use is documented in docs/METRICS.md', async () => {
  const documented = await documentedMetrics();
  assert.ok(documented.size > 20, `documented families: ${[...documented].join(', ')}`);
  const d = await dashboard();
  const used = new Map<string, string>();
  for (const q of panelQueries(d)) for (const m of centaurMetrics(q.expr)) used.set(m, `${DASHBOARD}: panel ${q.title}`);
  for (const v of d.templating.list) {
    const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
    for (const m of centaurMetrics(query)) used.set(m, `${DASHBOARD}: variable ${v.name}`);
  }
  for (const g of (await alertRules()).groups) for (const r of g.rules) for (const m of centaurMetrics(r.expr)) used.set(m, `${ALERTS}: ${r.alert ?? r.record}`);
  assert.ok(used.size > 15, `metrics used: ${[...used.keys()].join(', ')}`);
  const undocumented = [...used].filter(([m]) => !documented.has(m) && !EXPORTED_BY_LATER_FEATURES.has(m)).map(([m, where]) => `${m} (${where})`);
  assert.deepEqual(undocumented, [], 'metrics used but not in the table of docs/METRICS.md');
  for (const m of EXPORTED_BY_LATER_FEATURES) assert.ok(!documented.has(m), `${m} is documented now: remove it from EXPORTED_BY_LATER_FEATURES`);
});
