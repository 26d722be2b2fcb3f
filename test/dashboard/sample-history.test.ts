import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SampleHistory, sampleOf, visibleRange } from '../../src/dashboard/lib/sample-history.js';
import type { Sample } from '../../src/dashboard/lib/sample-history.js';
import type { Summary } from '../../src/dashboard/lib/api-types.js';

function summary(time: number, overrides: Partial<Summary> = {}): Summary {
  return {
    time,
    uptimeSeconds: 12.5,
    state: 'running',
    ready: true,
    failing: [],
    throughput: { inputs: 139, completed: 138, deadLetters: 1 },
    latencySeconds: { p50: 0.21, p95: 0.38, p99: 0.41 },
    batchFill: 0.93,
    inFlight: { envelopes: 42, bytes: 1_200_000, paused: false },
    lag: null,
    nodes: [{ id: 'images', received: 0, sent: 139, failed: 0, state: 'running', totals: { received: 0, sent: 200, failed: 0 } }],
    totals: { inputs: 200, completed: 199, deadLetters: 1, predictions: 199 },
    models: [{ node: 'classify', model: 'horse-or-human', version: '1' }],
    accuracy: null,
    drift: null,
    labels: null,
    process: { cpuCores: 0.85, rssBytes: 300_000_000, heapUsedBytes: 40_000_000, eventLoopDelaySeconds: { p50: 0.011, p99: 0.025 } },
    gpus: null,
    ...overrides,
  };
}

function sample(time: number, inputs: number | null = 1): Sample {
  return { time, inputs, completed: null, deadLetters: null, p50: null, p95: null, p99: null, batchFill: null, lag: null, cpu: null, rss: null, heap: null, loopDelay: null, gpuUtilization: null, gpuMemory: null };
}

test('samples: a summary becomes a sample in seconds, with nulls kept as gaps', () => {
  assert.deepEqual(sampleOf(summary(1_795_000_000_000)), {
    time: 1_795_000_000,
    inputs: 139,
    completed: 138,
    deadLetters: 1,
    p50: 0.21,
    p95: 0.38,
    p99: 0.41,
    batchFill: 0.93,
    lag: null,
    cpu: 0.85,
    rss: 300_000_000,
    heap: 40_000_000,
    loopDelay: 0.025,
    gpuUtilization: null,
    gpuMemory: null,
  });
  // Two GPUs: their mean utilisation and the memory they use together.
  const gpu = (index: number, utilization: number, memoryUsedBytes: number) => ({ index, name: 'GPU', utilization, memoryUsedBytes, memoryTotalBytes: 8e9 });
  const withGpus = sampleOf(summary(1000, { gpus: [gpu(0, 0.5, 1e9), gpu(1, 0.25, 3e9)] }));
  assert.equal(withGpus.gpuUtilization, 0.375);
  assert.equal(withGpus.gpuMemory, 4e9);
  const idle = sampleOf(summary(1000, { latencySeconds: null, batchFill: null, lag: 17, process: { cpuCores: 0, rssBytes: 1, heapUsedBytes: 1, eventLoopDelaySeconds: null } }));
  assert.equal(idle.loopDelay, null, 'no delay measured yet is a gap');
  assert.equal(idle.p95, null);
  assert.equal(sampleOf(summary(1000, { latencySeconds: null })).p50, null);
  assert.equal(idle.batchFill, null);
  assert.equal(idle.lag, 17);
});

test('samples: columns are aligned and limited to the window ending at the newest sample', () => {
  const history = new SampleHistory(10, 100);
  for (let t = 1; t <= 30; t += 1) history.add(sample(t, t * 2));
  const [times, inputs, lag] = history.columns(['inputs', 'lag']);
  assert.deepEqual(times, [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  assert.deepEqual(inputs, times.map((t) => t * 2));
  assert.deepEqual(lag, times.map(() => null));
});

test('samples: the capacity bounds memory even when the window would hold more', () => {
  const history = new SampleHistory(300, 5);
  for (let t = 1; t <= 50; t += 1) history.add(sample(t));
  assert.equal(history.size, 5);
  assert.deepEqual(history.columns([])[0], [46, 47, 48, 49, 50]);
});

test('samples: a sample not newer than the latest is ignored', () => {
  const history = new SampleHistory();
  assert.equal(history.add(sample(10)), true);
  assert.equal(history.add(sample(10)), false);
  assert.equal(history.add(sample(9)), false);
  assert.equal(history.add(sample(Number.NaN)), false);
  assert.equal(history.add(sample(11)), true);
  assert.equal(history.size, 2);
  assert.equal(history.latestTime, 11);
});

test('samples: hasValues tells a series with data from one that is all gaps; clear forgets everything', () => {
  const history = new SampleHistory();
  assert.equal(history.hasValues('inputs'), false);
  history.add(sample(1, null));
  assert.equal(history.hasValues('inputs'), false);
  history.add(sample(2, 0));
  assert.equal(history.hasValues('inputs'), true);
  assert.equal(history.hasValues('lag'), false);
  history.clear();
  assert.equal(history.size, 0);
  assert.equal(history.latestTime, undefined);
  assert.deepEqual(history.columns(['inputs']), [[], []]);
});

test('samples: the visible range ends at the newest sample, spans at least a minute, at most the window', () => {
  assert.deepEqual(visibleRange(1000, 1000, 300, 60), [940, 1000]);
  assert.deepEqual(visibleRange(1000, 1030, 300, 60), [970, 1030]);
  assert.deepEqual(visibleRange(1000, 1200, 300, 60), [1000, 1200]);
  assert.deepEqual(visibleRange(1000, 2000, 300, 60), [1700, 2000]);
  const [start, end] = visibleRange(undefined, undefined, 300, 60);
  assert.equal(end - start, 60);
});
