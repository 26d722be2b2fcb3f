/** RunStats: inputs by outcome, accuracy from labelled predictions, and the summary's arithmetic. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { DeliveryState } from '../../src/runtime/delivery-state.js';
import { RunStats } from '../../src/runtime/run-stats.js';

function state(outcome: { dead?: boolean; predicted?: boolean; labelled?: boolean; correct?: boolean; trueClass?: string; predictedClass?: string }): DeliveryState {
  const s = new DeliveryState('s', 'p', 0, 0, 10, performance.now() - 5, Date.now() - 1000, 1, () => 1, () => undefined);
  s.deadLettered_ = outcome.dead ?? false;
  s.predicted = outcome.predicted ?? false;
  s.labelled = outcome.labelled ?? false;
  s.correct = outcome.correct ?? false;
  s.trueClass = outcome.trueClass;
  s.predictedClass = outcome.predictedClass;
  return s;
}

test('counts inputs by outcome and reports accuracy over labelled predictions only', () => {
  const stats = new RunStats();
  stats.start();
  for (let i = 0; i < 5; i += 1) stats.admitted();
  const now = performance.now();
  const first = stats.finished(state({ predicted: true, labelled: true, correct: true }), now);
  stats.finished(state({ predicted: true, labelled: true, correct: false }), now);
  stats.finished(state({ predicted: true }), now);
  stats.finished(state({}), now);
  stats.finished(state({ dead: true, predicted: true, labelled: true, correct: true }), now);
  stats.stopSampling();
  assert.ok(first.endToEndSeconds >= 1 && first.endToEndSeconds < 5);
  assert.ok(first.processingSeconds >= 0.004);
  assert.deepEqual({ ...stats.current, perClass: undefined }, { inputs: 5, completed: 4, predictions: 3, deadLetters: 1, correct: 1, labelled: 2, perClass: undefined });
  const summary = stats.summary('t', 3, false);
  assert.equal(summary.unfinished, 0);
  assert.deepEqual(summary.accuracy, { correct: 1, labelled: 2, ratio: 0.5, perClass: {} });
  assert.equal(summary.peakInFlight, 3);
  assert.ok(summary.peakRssBytes > 0);
  assert.ok((stats.recentLatencySeconds(60_000)?.p50 ?? 0) >= 1, 'recent latency counts completed inputs');
});

test('an input still in flight at the end is unfinished; no labels, no accuracy', () => {
  const stats = new RunStats();
  stats.start();
  stats.admitted();
  stats.admitted();
  stats.finished(state({ predicted: true }), performance.now());
  stats.stopSampling();
  const summary = stats.summary('t', 2, true);
  assert.equal(summary.unfinished, 1);
  assert.equal(summary.accuracy, undefined);
  assert.equal(summary.drainTimedOut, true);
});

test('per class: precision over the predictions of a class, recall over its labels; a label outside the classes counts as other', () => {
  const stats = new RunStats();
  const now = performance.now();
  const finish = (trueClass: string, predictedClass: string): void => {
    stats.finished(state({ predicted: true, labelled: true, correct: trueClass === predictedClass, trueClass, predictedClass }), now);
  };
  finish('horse', 'horse');
  finish('horse', 'horse');
  finish('horse', 'human');
  finish('human', 'human');
  finish('other', 'horse');
  const perClass = stats.summary('t', 0, false).accuracy?.perClass;
  assert.deepEqual(perClass, {
    horse: { labelled: 3, predicted: 3, correct: 2, precision: 2 / 3, recall: 2 / 3 },
    human: { labelled: 1, predicted: 2, correct: 1, precision: 0.5, recall: 1 },
    other: { labelled: 1, predicted: 0, correct: 0, precision: null, recall: 0 },
  });
});
