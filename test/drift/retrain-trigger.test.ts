import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DriftReport } from '../../src/drift-monitor/report.js';
import { conditionVerdict, RetrainTrigger, RetrainTriggers } from '../../src/drift-monitor/retrain-trigger.js';
import type { RetrainTriggerOptions } from '../../src/drift-monitor/retrain-trigger.js';

function report(i: number, drifted: boolean, accuracy: DriftReport['accuracy'] = null): DriftReport {
  return {
    topology: 't',
    node: 'drift',
    model: { name: 'demo', version: '1' },
    mode: 'evidently',
    window: { kind: 'count', start: i * 10, end: i * 10 + 10 },
    inputs: 10,
    eventTimeMin: 0,
    eventTimeMax: 0,
    late: 0,
    columns: [{ name: 'brightness', kind: 'numerical', method: 'ks', displayName: 'K-S p_value', score: drifted ? 0.001 : 0.5, threshold: 0.05, drifted, referenceSize: 10, currentSize: 10, exact: true, thresholdSource: 'evidently' as const }],
    skipped: [],
    embedding: null,
    dataset: { numberOfColumns: 1, numberOfDriftedColumns: drifted ? 1 : 0, shareOfDriftedColumns: drifted ? 1 : 0, driftShare: 0.5, datasetDrift: drifted, rule: 'share' },
    outputs: null,
    thresholds: 'evidently',
    falseAlarmRate: null,
    accuracy,
    instances: 1,
    createdAt: 0,
  };
}

/** Feeds a pattern ('D' drift, '.' none), one window per minute; returns the windows that sent requests. */
function feed(pattern: string, options = { on: 'dataset', consecutive: 3, recovery: 2, cooldownMs: 0 }): { sent: number[]; suppressed: number[] } {
  const trigger = new RetrainTrigger(options);
  const sent: number[] = [];
  const suppressed: number[] = [];
  [...pattern].forEach((c, i) => {
    const outcome = trigger.observe(report(i, c === 'D'), i * 60_000);
    if (outcome.kind === 'request') sent.push(i);
    if (outcome.kind === 'suppressed') suppressed.push(i);
  });
  return { sent, suppressed };
}

test('a request after K consecutive drifted windows, one per episode', () => {
  assert.deepEqual(feed('..DD.DDDDDDDD').sent, [7]);
});

test('hysteresis: one clean window inside an episode does not end it', () => {
  assert.deepEqual(feed('DDDD.DDDD.DDD').sent, [2]);
});

test('a new episode after `recovery` clean windows asks again', () => {
  assert.deepEqual(feed('DDD..DDD').sent, [2, 7]);
});

test('cooldown: an episode that starts too soon sends nothing, and never asks later in the same episode', () => {
  const r = feed('DDD..DDDDDDDDD', { on: 'dataset', consecutive: 3, recovery: 2, cooldownMs: 10 * 60_000 });
  assert.deepEqual(r.sent, [2]);
  assert.deepEqual(r.suppressed, [7]);
  assert.deepEqual(feed('DDD..DDD..........DDD', { on: 'dataset', consecutive: 3, recovery: 2, cooldownMs: 10 * 60_000 }).sent, [2, 20]);
});

test('the request names the model, the streak windows and the drifted features with scores', () => {
  const trigger = new RetrainTrigger({ on: 'brightness', consecutive: 2, recovery: 1, cooldownMs: 0 });
  assert.equal(trigger.observe(report(0, true), 0).kind, 'none');
  const outcome = trigger.observe(report(1, true), 5);
  assert.equal(outcome.kind, 'request');
  if (outcome.kind !== 'request') return;
  assert.deepEqual(outcome.request.model, { name: 'demo', version: '1' });
  assert.deepEqual(outcome.request.windows.map((w) => w.start), [0, 10]);
  assert.deepEqual(outcome.request.driftedFeatures, [{ name: 'brightness', method: 'ks', score: 0.001, threshold: 0.05 }]);
  assert.equal(outcome.request.reason, 'brightness');
});

/** A window with `labelled` labelled inputs of which `correct` were right, the reference accuracy `reference`. */
function labelledReport(i: number, labelled: number, correct: number, reference: number | null = 0.9): DriftReport {
  return report(i, false, labelled === 0 ? null : { labelled, correct, ratio: correct / labelled, reference });
}

/** Feeds accuracies (null: a window without labels) and returns the windows that sent requests. */
function feedAccuracy(windows: readonly (readonly [number, number])[], options: Partial<RetrainTriggerOptions> = {}): number[] {
  const trigger = new RetrainTrigger({ on: 'accuracy', consecutive: 2, recovery: 2, cooldownMs: 0, accuracyDrop: 0.1, minLabelled: 20, ...options });
  const sent: number[] = [];
  windows.forEach(([labelled, correct], i) => {
    if (trigger.observe(labelledReport(i, labelled, correct), i * 60_000).kind === 'request') sent.push(i);
  });
  return sent;
}

test('accuracy: a drop of at least accuracyDrop below the reference for K windows asks once; a smaller drop does not', () => {
  // Reference 0.9; windows at 0.9, 0.85 (drop 0.05), then 0.8 (drop exactly 0.1) and 0.7.
  assert.deepEqual(feedAccuracy([[100, 90], [100, 85], [100, 80], [100, 70], [100, 70], [100, 72]]), [3]);
  assert.deepEqual(feedAccuracy([[100, 90], [100, 85], [100, 81], [100, 84], [100, 85]]), [], 'drops of 0.05 to 0.09 never count');
});

test('accuracy: windows with fewer than minLabelled labelled inputs count neither way', () => {
  // Too few labels between two low windows: the streak goes on; too few labels inside an episode do not end it.
  assert.deepEqual(feedAccuracy([[100, 70], [5, 5], [100, 70]]), [2]);
  assert.deepEqual(feedAccuracy([[100, 70], [100, 70], [10, 10], [0, 0], [10, 10], [100, 70], [100, 95], [100, 95], [100, 70], [100, 70]]), [1, 9]);
  // A clean window with enough labels breaks the streak.
  assert.deepEqual(feedAccuracy([[100, 70], [100, 92], [100, 70]]), []);
});

test('accuracy: a configured baseline replaces the reference profile\'s; without either the condition cannot hold', () => {
  assert.deepEqual(feedAccuracy([[100, 85], [100, 85]], { baselineAccuracy: 0.99 }), [1], '0.99 − 0.85 ≥ 0.1');
  assert.deepEqual(feedAccuracy([[100, 85], [100, 85]]), [], '0.9 − 0.85 < 0.1');
  const options = { on: 'accuracy', consecutive: 1, recovery: 1, cooldownMs: 0, accuracyDrop: 0.1, minLabelled: 20 };
  assert.equal(conditionVerdict(labelledReport(0, 100, 10, null), options), 'unknown');
  assert.equal(conditionVerdict(labelledReport(0, 100, 10, null), { ...options, baselineAccuracy: 0.9 }), 'holds');
  assert.equal(conditionVerdict(labelledReport(0, 19, 0), options), 'unknown');
  assert.equal(conditionVerdict(labelledReport(0, 20, 0), options), 'holds');
  assert.equal(conditionVerdict(labelledReport(0, 0, 0), options), 'unknown');
});

test('accuracy: the request carries each window\'s labelled count and accuracy, and the baseline', () => {
  const trigger = new RetrainTrigger({ on: 'accuracy', consecutive: 2, recovery: 1, cooldownMs: 0, accuracyDrop: 0.1, minLabelled: 10 });
  trigger.observe(labelledReport(0, 40, 30), 0);
  const outcome = trigger.observe(labelledReport(1, 50, 35), 1);
  assert.equal(outcome.kind, 'request');
  if (outcome.kind !== 'request') return;
  assert.deepEqual(outcome.request.windows.map((w) => [w.labelled, w.accuracy]), [[40, 0.75], [50, 0.7]]);
  assert.equal(outcome.request.baselineAccuracy, 0.9);
  assert.equal(outcome.request.reason, 'accuracy');
});

test('a redelivered or older window is ignored: it neither extends a streak nor counts as a clean window', () => {
  const trigger = new RetrainTrigger({ on: 'dataset', consecutive: 3, recovery: 1, cooldownMs: 0 });
  assert.equal(trigger.observe(report(0, true), 0).kind, 'none');
  assert.deepEqual(trigger.observe(report(0, true), 0), { kind: 'stale', why: 'duplicate' });
  assert.equal(trigger.observe(report(1, true), 0).kind, 'none');
  assert.deepEqual(trigger.observe(report(0, false), 0), { kind: 'stale', why: 'out-of-order' });
  assert.deepEqual(trigger.observe(report(1, true), 0), { kind: 'stale', why: 'duplicate' });
  assert.equal(trigger.observe(report(2, true), 0).kind, 'request', 'three distinct drifted windows, the duplicates not counted');
});

test('count windows: a restarted drift node (ordinals from 0 again, later reports) is not taken for a redelivery', () => {
  const trigger = new RetrainTrigger({ on: 'dataset', consecutive: 2, recovery: 1, cooldownMs: 0 });
  const at = (i: number, createdAt: number): DriftReport => ({ ...report(i, true), createdAt });
  assert.equal(trigger.observe(at(5, 1000), 1000).kind, 'none');
  assert.deepEqual(trigger.observe(at(5, 1000), 1000), { kind: 'stale', why: 'duplicate' });
  assert.equal(trigger.observe(at(0, 2000), 2000).kind, 'request');
});

test('time windows: order is by window start, whenever the report was made', () => {
  const trigger = new RetrainTrigger({ on: 'dataset', consecutive: 2, recovery: 1, cooldownMs: 0 });
  const time = (i: number, createdAt: number): DriftReport => ({ ...report(i, true), window: { kind: 'time', start: i * 60_000, end: (i + 1) * 60_000 }, createdAt });
  assert.equal(trigger.observe(time(1, 5000), 0).kind, 'none');
  assert.deepEqual(trigger.observe(time(1, 9000), 0), { kind: 'stale', why: 'duplicate' }, 'the same window reported again (e.g. merged twice)');
  assert.deepEqual(trigger.observe(time(0, 9000), 0), { kind: 'stale', why: 'out-of-order' });
  assert.equal(trigger.observe(time(2, 1000), 0).kind, 'request');
});

test('the state survives JSON: a trigger rebuilt from it continues the streak, the episode and the cooldown', () => {
  const options = { on: 'dataset', consecutive: 3, recovery: 2, cooldownMs: 10 * 60_000 };
  const pattern = 'DDD..DD|DDDD';
  const straight = new RetrainTrigger(options);
  let restarted = new RetrainTrigger(options);
  const outcomes: [string, string][] = [];
  let i = 0;
  for (const c of pattern) {
    if (c === '|') {
      restarted = new RetrainTrigger(options, JSON.parse(JSON.stringify(restarted.toJSON())) as ReturnType<RetrainTrigger['toJSON']>);
      // The window before the restart is redelivered.
      assert.equal(restarted.observe(report(i - 1, true), (i - 1) * 60_000).kind, 'stale');
      continue;
    }
    const r = report(i, c === 'D');
    outcomes.push([straight.observe(r, i * 60_000).kind, restarted.observe(r, i * 60_000).kind]);
    i += 1;
  }
  assert.deepEqual(outcomes.map(([a]) => a), outcomes.map(([, b]) => b));
  assert.deepEqual(outcomes.map(([a]) => a), ['none', 'none', 'request', 'none', 'none', 'none', 'none', 'suppressed', 'none', 'none', 'none']);
});

test('one trigger per node and model version: a new version starts afresh, two nodes do not mix', () => {
  const triggers = new RetrainTriggers({ on: 'dataset', consecutive: 2, recovery: 1, cooldownMs: 60 * 60_000 });
  const v = (i: number, version: string, node = 'drift'): DriftReport => ({ ...report(i, true), node, model: { name: 'demo', version } });
  assert.equal(triggers.observe(v(0, '1'), 0).kind, 'none');
  assert.equal(triggers.observe(v(0, '1', 'other'), 0).kind, 'none');
  assert.equal(triggers.observe(v(1, '1'), 0).kind, 'request');
  assert.equal(triggers.observe(v(2, '2'), 60_000).kind, 'none', 'version 2 has its own streak');
  assert.equal(triggers.observe(v(3, '2'), 120_000).kind, 'request', 'and its own cooldown');
  const copy = new RetrainTriggers({ on: 'dataset', consecutive: 2, recovery: 1, cooldownMs: 60 * 60_000 }, JSON.parse(JSON.stringify(triggers.toJSON())) as ReturnType<RetrainTriggers['toJSON']>);
  assert.equal(copy.observe(v(1, '1', 'other'), 0).kind, 'request', 'the other node\'s streak survived');
  assert.equal(copy.observe(v(3, '2'), 0).kind, 'stale');
});

/** A report whose dataset, embedding and outputs signals are set one by one. */
function signals(i: number, s: { dataset?: boolean; embedding?: boolean; outputs?: boolean }): DriftReport {
  const base = report(i, s.dataset === true);
  return {
    ...base,
    embedding: { method: 'distance', distance: 'euclidean', score: s.embedding === true ? 3 : 1, threshold: 2, drifted: s.embedding === true, cosineDistance: 0, referenceSize: 10, currentSize: 10, thresholdSource: 'calibrated' },
    outputs: { drifted: s.outputs === true, columns: s.outputs === true ? ['class'] : [] },
  };
}

test('any-of: a new class seen only in embeddings starts an episode; the request lists the signals that held and names the episode', () => {
  const trigger = new RetrainTrigger({ on: { anyOf: ['dataset', 'embedding'] }, consecutive: 2, recovery: 2, cooldownMs: 0 });
  assert.equal(trigger.observe(signals(0, { embedding: true }), 0).kind, 'none');
  const outcome = trigger.observe(signals(1, { embedding: true, dataset: true }), 60_000);
  assert.equal(outcome.kind, 'request');
  if (outcome.kind !== 'request') return;
  assert.equal(outcome.request.reason, 'anyOf(dataset, embedding)');
  assert.deepEqual(outcome.request.reasons, ['dataset', 'embedding']);
  assert.equal(outcome.request.episode, 't/drift/demo@1/count-0@60000', 'count windows: the request time keeps the id unique across restarts');
  assert.equal(trigger.observe(signals(2, { embedding: true }), 120_000).kind, 'none', 'one request per episode');
});

test('a list means any-of; all-of needs every signal in the same window', () => {
  const list = new RetrainTrigger({ on: ['outputs', 'embedding'], consecutive: 1, recovery: 1, cooldownMs: 0 });
  const sent = list.observe(signals(0, { outputs: true }), 0);
  assert.equal(sent.kind, 'request');
  if (sent.kind === 'request') assert.deepEqual(sent.request.reasons, ['outputs']);
  const all = new RetrainTrigger({ on: { allOf: ['outputs', 'embedding'] }, consecutive: 2, recovery: 1, cooldownMs: 0 });
  assert.equal(all.observe(signals(0, { outputs: true }), 0).kind, 'none');
  assert.equal(all.observe(signals(1, { outputs: true, embedding: true }), 1).kind, 'none', 'the first window broke the streak');
  assert.equal(all.observe(signals(2, { outputs: true, embedding: true }), 2).kind, 'request');
});

test('any-of with accuracy: windows without enough labels count by the other signals alone', () => {
  const trigger = new RetrainTrigger({ on: { anyOf: ['accuracy', 'embedding'] }, consecutive: 2, recovery: 1, cooldownMs: 0, minLabelled: 30 });
  assert.equal(trigger.observe(signals(0, { embedding: true }), 0).kind, 'none');
  assert.equal(trigger.observe(signals(1, { embedding: true }), 1).kind, 'request');
  const all = new RetrainTrigger({ on: { allOf: ['accuracy', 'embedding'] }, consecutive: 1, recovery: 1, cooldownMs: 0, minLabelled: 30 });
  assert.equal(all.observe(signals(0, { embedding: true }), 0).kind, 'none', 'all-of cannot tell without labels');
});
