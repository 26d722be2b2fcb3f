// The merge bookkeeping of `drift-merge-source`: windows complete by instance count, expire after the
// grace timeout, ignore redelivered partials, and merged reports equal one instance's (streaming).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/core/logger.js';
import { NO_METRICS } from '../../src/core/metric-family.js';
import { DriftMetrics } from '../../src/drift-monitor/drift-metrics.js';
import { featureValue } from '../../src/drift-monitor/features.js';
import { MergeOffsets } from '../../src/drift-monitor/merge-offsets.js';
import { DriftMonitor } from '../../src/drift-monitor/monitor.js';
import type { DriftPartial } from '../../src/drift-monitor/monitor.js';
import { PartialMerger } from '../../src/drift-monitor/partial-merger.js';
import type { MergedWindow } from '../../src/drift-monitor/partial-merger.js';
import { readPartial } from '../../src/drift-monitor/partial-record.js';
import { buildReferenceProfile, profileFeatureSpecs } from '../../src/drift-monitor/profile.js';
import { windowReport } from '../../src/drift-monitor/report.js';
import type { WindowSetup } from '../../src/drift-monitor/window-state.js';
import type { Envelope } from '../../src/core/envelope.js';
import { featureEnvelopes } from './stream-helpers.js';

const CLASSES = ['horse', 'human'];
const logger = createLogger('silent');

function profileOf(envelopes: readonly Envelope[]) {
  const specs = profileFeatureSpecs(CLASSES);
  const rows = envelopes.map((e) => ({ values: Object.fromEntries(specs.map((s) => [s.name, featureValue(e, s, CLASSES)])), embedding: e.embedding }));
  return buildReferenceProfile(rows, { model: { name: 'demo', version: '1', classes: CLASSES }, createdAt: new Date(0) });
}

const PROFILE = profileOf(featureEnvelopes(11, 2000));
const SETUP: WindowSetup = { profile: PROFILE, mode: 'streaming', features: profileFeatureSpecs(CLASSES).filter((f) => PROFILE.features[f.name] !== undefined), sampleCap: 1000, embedding: true };
const WINDOW = { by: 'time', sizeMs: 100_000, slideMs: 50_000, allowedLatenessMs: 0 } as const;

/** Runs one drift monitor over `envelopes`, returning its reports and (through JSON) its partials. */
async function run(envelopes: readonly Envelope[], instance: string) {
  const partials: DriftPartial[] = [];
  const m = new DriftMonitor({
    topology: 't', node: 'drift', setup: SETUP, window: WINDOW, seed: 3, driftShare: 0.5, columns: {}, metrics: new DriftMetrics(NO_METRICS, 'drift'), logger, clock: () => 0,
    partials: { instance, publisher: { publish: async (_key, record) => void partials.push(readPartial(Buffer.from(JSON.stringify(record)))), close: async () => undefined } },
  });
  m.handler.keep = 1000;
  for (const e of envelopes) m.add(e);
  await m.finish();
  return { reports: m.handler.reports, partials };
}

function reportOf(merged: MergedWindow) {
  return windowReport(merged.state, { topology: merged.topology, node: merged.node, window: merged.window, late: merged.late, instances: merged.instances.length, driftShare: 0.5, columns: {}, now: 0 });
}

test('two instances: each window completes with the second instance\'s partial, and its report equals one instance\'s over all inputs', async () => {
  const all = featureEnvelopes(21, 1000);
  const single = await run(all, 'single');
  const a = await run(all.filter((_, i) => i % 2 === 0), 'a');
  const b = await run(all.filter((_, i) => i % 2 === 1), 'b');
  const merger = new PartialMerger({ setup: SETUP, instances: 2, graceMs: 60_000 });
  const merged: MergedWindow[] = [];
  a.partials.forEach((p, i) => assert.equal(merger.add(p, { partition: '0', offset: i }, 0).kind, 'pending'));
  assert.equal(merger.open, a.partials.length);
  b.partials.forEach((p, i) => {
    const outcome = merger.add(p, { partition: '0', offset: 1000 + i }, 0);
    assert.equal(outcome.kind, 'complete');
    if (outcome.kind === 'complete') merged.push(outcome.merged);
  });
  assert.equal(merger.open, 0);
  assert.equal(merged.length, single.reports.length);
  merged.forEach((m, i) => {
    const one = single.reports[i]!;
    const two = reportOf(m);
    assert.deepEqual(m.instances, ['a', 'b']);
    assert.equal(m.complete, true);
    assert.deepEqual(two.window, one.window);
    assert.equal(two.inputs, one.inputs);
    assert.equal(two.instances, 2);
    assert.deepEqual(two.columns.map((c) => [c.name, c.method, c.score, c.drifted]), one.columns.map((c) => [c.name, c.method, c.score, c.drifted]));
    assert.deepEqual(two.dataset, one.dataset);
    assert.ok(Math.abs(two.embedding!.score - one.embedding!.score) < 1e-12);
  });
});

test('a redelivered partial is ignored: a duplicate while pending, and after its window was reported', async () => {
  const all = featureEnvelopes(22, 300);
  const a = await run(all.filter((_, i) => i % 2 === 0), 'a');
  const b = await run(all.filter((_, i) => i % 2 === 1), 'b');
  const merger = new PartialMerger({ setup: SETUP, instances: 2, graceMs: 60_000 });
  const first = a.partials[0]!;
  assert.equal(merger.add(first, { partition: '0', offset: 0 }, 0).kind, 'pending');
  assert.equal(merger.add(JSON.parse(JSON.stringify(first)) as DriftPartial, { partition: '0', offset: 1 }, 0).kind, 'duplicate');
  const done = merger.add(b.partials[0]!, { partition: '0', offset: 2 }, 0);
  assert.equal(done.kind, 'complete');
  if (done.kind !== 'complete') return;
  assert.equal(done.merged.state.count, a.partials[0]!.state.count + b.partials[0]!.state.count, 'the duplicate was not counted');
  assert.deepEqual(done.merged.positions, [{ partition: '0', offset: 0 }, { partition: '0', offset: 2 }]);
  assert.equal(merger.add(first, { partition: '0', offset: 3 }, 0).kind, 'after-report');
  assert.equal(merger.add(b.partials[0]!, { partition: '0', offset: 4 }, 0).kind, 'after-report');
  assert.equal(merger.open, 0);
});

test('the grace timeout reports a window with the instances that contributed; a later partial of it is ignored', async () => {
  const all = featureEnvelopes(23, 300);
  const a = await run(all.filter((_, i) => i % 2 === 0), 'a');
  const b = await run(all.filter((_, i) => i % 2 === 1), 'b');
  const merger = new PartialMerger({ setup: SETUP, instances: 3, graceMs: 5000 });
  assert.equal(merger.add(a.partials[0]!, { partition: '0', offset: 0 }, 1000).kind, 'pending');
  assert.equal(merger.add(b.partials[0]!, { partition: '0', offset: 1 }, 3000).kind, 'pending');
  assert.equal(merger.add(a.partials[1]!, { partition: '0', offset: 2 }, 4000).kind, 'pending');
  assert.deepEqual(merger.expire(5999), []);
  const expired = merger.expire(6000);
  assert.equal(expired.length, 1, 'only the window whose first partial is 5 s old');
  assert.equal(expired[0]!.complete, false);
  assert.deepEqual(expired[0]!.instances, ['a', 'b']);
  assert.equal(reportOf(expired[0]!).instances, 2);
  assert.equal(merger.open, 1);
  assert.equal(merger.add(b.partials[0]!, { partition: '0', offset: 3 }, 7000).kind, 'after-report');
  assert.equal(merger.expire(9000).length, 1);
  assert.equal(merger.open, 0);
});

test('one expected instance: every partial is a complete window', async () => {
  const a = await run(featureEnvelopes(24, 300), 'a');
  const merger = new PartialMerger({ setup: SETUP, instances: 1, graceMs: 0 });
  for (const [i, p] of a.partials.entries()) assert.equal(merger.add(p, { partition: '0', offset: i }, 0).kind, 'complete');
});

test('records that are not drift partials are refused with a reason', () => {
  assert.throws(() => readPartial(null), /tombstone/);
  assert.throws(() => readPartial(Buffer.from('{')), /not JSON/);
  assert.throws(() => readPartial(Buffer.from('{"type":"drift-report"}')), /not a drift partial/);
  assert.throws(() => readPartial(Buffer.from('{"type":"drift-partial","version":2}')), /version 2/);
});

test('offsets commit up to the lowest offset whose window is not reported yet', () => {
  const o = new MergeOffsets();
  for (const offset of [10, 11, 12, 13]) o.read('0', offset);
  o.read('1', 5);
  assert.deepEqual(o.takeCommits(), [], 'nothing done: the group stays where it started');
  o.done('0', 11);
  o.done('0', 13);
  assert.deepEqual(o.takeCommits(), []);
  o.done('0', 10);
  assert.deepEqual(o.takeCommits(), [{ partition: '0', offset: 12 }]);
  o.done('0', 12);
  o.done('1', 5);
  assert.deepEqual(o.takeCommits(), [{ partition: '0', offset: 14 }, { partition: '1', offset: 6 }]);
  assert.deepEqual(o.takeCommits(), []);
});
