import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DriftReport } from '../../src/drift/stream/report.js';
import { RetrainTrigger } from '../../src/drift/stream/retrain-trigger.js';

function report(i: number, drifted: boolean): DriftReport {
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
    columns: [{ name: 'brightness', kind: 'numerical', method: 'ks', displayName: 'K-S p_value', score: drifted ? 0.001 : 0.5, threshold: 0.05, drifted, referenceSize: 10, currentSize: 10, exact: true }],
    skipped: [],
    embedding: null,
    dataset: { numberOfColumns: 1, numberOfDriftedColumns: drifted ? 1 : 0, shareOfDriftedColumns: drifted ? 1 : 0, driftShare: 0.5, datasetDrift: drifted },
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
