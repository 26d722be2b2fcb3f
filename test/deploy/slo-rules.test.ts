/**
 * The SLO rules of deploy/prometheus/alerts.yml stay consistent with the code they measure: the
 * error reasons that cost availability are exactly the `infrastructure` and `internal` codes of
 * the error catalogue, the latency threshold is a bucket of the histogram, every window the
 * burn-rate alerts read is recorded. promtool checks and unit-tests the rules themselves
 * (test/deploy/prometheus-rules.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { ERROR_CODES } from '../../src/core/errors.js';
import { LATENCY_BUCKETS } from '../../src/core/metric-family.js';

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  labels?: Record<string, string>;
}

const WINDOWS = ['5m', '30m', '1h', '2h', '6h', '1d', '3d'];

async function sloRules(): Promise<Rule[]> {
  const file = parse(await readFile('deploy/prometheus/alerts.yml', 'utf8')) as { groups: { name: string; rules: Rule[] }[] };
  const group = file.groups.find((g) => g.name === 'centaur-slo');
  assert.ok(group !== undefined, 'group centaur-slo missing');
  return group.rules;
}

test('the availability SLO counts exactly the infrastructure and internal error codes against it', async () => {
  const expected = Object.entries(ERROR_CODES)
    .filter(([, d]) => d.category === 'infrastructure' || d.category === 'internal')
    .map(([code]) => code)
    .sort();
  const rules = (await sloRules()).filter((r) => r.record?.startsWith('centaur:slo_availability_errors:') === true);
  assert.equal(rules.length, WINDOWS.length);
  for (const rule of rules) {
    const reasons = [...rule.expr.matchAll(/reason=~"([^"]+)"/g)].map((m) => m[1] ?? '');
    assert.equal(reasons.length, 1, `${rule.record}: one reason matcher`);
    assert.deepEqual((reasons[0] ?? '').split('|').sort(), expected, `${rule.record}: reasons differ from src/core/errors.ts`);
  }
});

test('the latency SLO threshold is a bucket of the latency histograms', async () => {
  const rules = (await sloRules()).filter((r) => r.record?.startsWith('centaur:slo_latency_slow:') === true);
  assert.equal(rules.length, WINDOWS.length);
  for (const rule of rules) {
    const le = /centaur_end_to_end_latency_seconds_bucket\{le="([^"]+)"\}/.exec(rule.expr)?.[1];
    assert.ok(le !== undefined && LATENCY_BUCKETS.includes(Number(le)), `${rule.record}: le=${le} is not one of ${LATENCY_BUCKETS.join(', ')}`);
  }
});

test('every ratio the burn-rate alerts read is recorded, for every window', async () => {
  const rules = await sloRules();
  const recorded = new Set(rules.flatMap((r) => (r.record === undefined ? [] : [r.record])));
  for (const sli of ['availability_errors', 'latency_slow']) for (const w of WINDOWS) assert.ok(recorded.has(`centaur:slo_${sli}:ratio_rate${w}`), `${sli} ${w} not recorded`);
  const alerts = rules.filter((r) => r.alert !== undefined);
  assert.deepEqual(alerts.map((a) => a.alert).sort(), ['CentaurAvailabilityBudgetBurnFast', 'CentaurAvailabilityBudgetBurnSlow', 'CentaurLatencyBudgetBurnFast', 'CentaurLatencyBudgetBurnSlow']);
  for (const a of alerts) {
    for (const name of a.expr.match(/centaur:[a-z_]+:[a-z0-9_]+/g) ?? []) assert.ok(recorded.has(name), `${a.alert} reads ${name}, which nothing records`);
    assert.equal(a.labels?.severity, a.alert?.endsWith('Fast') === true ? 'critical' : 'warning', `${a.alert}: pages are critical, tickets warnings`);
  }
});
