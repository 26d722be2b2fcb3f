import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../src/topology/load.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { CLOSE_AFTER_TIMEOUT_MS } from '../../src/runtime/nodes.js';
import { createLogger } from '../../src/core/logger.js';
import type { CentaurError } from '../../src/core/errors.js';
import { fakeComponents, sleep, useProbe } from '../helpers/fake-components.js';

const logger = createLogger('silent');

function topology(yaml: string): ReturnType<typeof parseTopology> {
  return parseTopology(`version: 1\nname: t\ndeadLetter: dlq\n${yaml}`, '/tmp/centaur-runtime-test/topo.yaml', { env: {}, components: fakeComponents });
}

test('fan-out: an input completes only when every sink acknowledged it; dead letters complete it too', async () => {
  const probe = useProbe('fanout');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: fanout, count: 60, failEvery: 10 }
  op: { kind: fail-some, from: [src], every: 7 }
  a: { kind: probe-sink, from: [op], probe: fanout, delayMs: 1 }
  b: { kind: probe-sink, from: [op], probe: fanout }
  dlq: { kind: probe-sink, probe: fanout }
`);
  const summary = await new Runtime(t, { logger }).run();
  const failedAtSource = [...Array(60).keys()].filter((o) => o % 10 === 9);
  const failedAtOp = [...Array(60).keys()].filter((o) => o % 7 === 0 && !failedAtSource.includes(o));
  const passed = 60 - failedAtSource.length - failedAtOp.length;
  assert.equal(probe.written.get('a')?.length, passed);
  assert.equal(probe.written.get('b')?.length, passed);
  assert.deepEqual(probe.deadLetters.map((d) => d.envelope.position.offset).sort((x, y) => x - y), [...failedAtSource, ...failedAtOp].sort((x, y) => x - y));
  assert.ok(probe.deadLetters.every((d) => (failedAtSource.includes(d.envelope.position.offset) ? d.node === 'src' && d.error.code === 'INPUT_READ_FAILED' : d.node === 'op' && d.error.code === 'IMAGE_DECODE_FAILED')));
  assert.equal(summary.inputs, 60);
  assert.equal(summary.deadLetters, failedAtSource.length + failedAtOp.length);
  assert.equal(summary.completed, passed);
  assert.equal(summary.unfinished, 0);
  assert.deepEqual(probe.commits.at(-1), { partition: 'p0', offset: 59 });
  const offsets = probe.commits.map((c) => c.offset);
  assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), 'commits only move forward');
});

test('commits stop at the highest contiguous completed offset while an earlier input is unfinished', async () => {
  const probe = useProbe('contiguous');
  let heldOffset = -1;
  probe.onWrite = async (_sink, envelopes) => {
    const e = envelopes[0];
    if (e !== undefined && e.position.offset === 3) {
      heldOffset = 3;
      await new Promise<void>((resolve) => probe.held.push(resolve));
    }
  };
  const t = topology(`limits: { commitIntervalMs: 0 }
nodes:
  src: { kind: counting-source, probe: contiguous, count: 20 }
  out: { kind: probe-sink, from: [src], probe: contiguous }
  dlq: { kind: probe-sink, probe: contiguous }
`);
  const runtime = new Runtime(t, { logger });
  const done = runtime.run();
  while (heldOffset !== 3 || probe.emitted < 20) await sleep(5);
  await sleep(30);
  // The sink writes in order, so while offset 3 is held nothing after it is written either.
  assert.ok(probe.commits.every((c) => c.offset < 3), `committed past the held input: ${JSON.stringify(probe.commits)}`);
  for (const release of probe.held.splice(0)) release();
  await done;
  assert.equal(probe.commits.at(-1)?.offset, 19);
});

test('backpressure: with a sink 100× slower than the source, in-flight stays within the limits and memory stays bounded', async () => {
  const probe = useProbe('slow');
  const payload = 256 * 1024;
  const count = 600;
  const t = topology(`limits: { maxInFlight: 32, maxInFlightBytes: 4194304, lowWaterRatio: 0.5 }
nodes:
  src: { kind: counting-source, probe: slow, count: ${count}, payloadBytes: ${payload} }
  out: { kind: probe-sink, from: [src], probe: slow, delayMs: 2 }
  dlq: { kind: probe-sink, probe: slow }
`);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  let peakMemory = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakMemory = Math.max(peakMemory, m.heapUsed + m.arrayBuffers - heapBefore);
  }, 5);
  const runtime = new Runtime(t, { logger });
  let peakSeen = 0;
  // What the run holds, measured after a full collection every 25 writes (npm test runs node with
  // --expose-gc): the peak between collections depends on when V8 chooses to collect, not on Centaur.
  const gc = (globalThis as { gc?: () => void }).gc;
  let writes = 0;
  let peakRetained = 0;
  probe.onWrite = () => {
    peakSeen = Math.max(peakSeen, runtime.inFlight().count);
    writes += 1;
    if (gc !== undefined && writes % 25 === 0) {
      gc();
      const m = process.memoryUsage();
      peakRetained = Math.max(peakRetained, m.heapUsed + m.arrayBuffers - heapBefore);
    }
  };
  const summary = await runtime.run();
  clearInterval(sampler);
  assert.equal(probe.written.get('out')?.length, count, 'every input arrives');
  assert.ok(probe.pauses > 0 && probe.resumes > 0, 'the source was paused and resumed');
  const limitCount = 4194304 / payload; // the byte limit binds first: 16 inputs
  assert.ok(runtime.inFlight().peakCount <= limitCount, `peak in flight ${runtime.inFlight().peakCount} > ${limitCount}`);
  assert.ok(runtime.inFlight().peakBytes <= 4194304, `peak bytes ${runtime.inFlight().peakBytes}`);
  assert.ok(peakSeen <= limitCount);
  // 600 × 256 KiB = 150 MiB passed through; memory held must stay near the 4 MiB bound.
  if (gc !== undefined) assert.ok(peakRetained < 32 * 2 ** 20, `memory held grew by ${(peakRetained / 2 ** 20).toFixed(1)} MiB`);
  else assert.ok(peakMemory < 100 * 2 ** 20, `memory grew by ${(peakMemory / 2 ** 20).toFixed(1)} MiB (run with --expose-gc for the exact check)`);
  assert.equal(summary.unfinished, 0);
});

test('stop drains: sources stop, in-flight inputs finish, the last position is committed', async () => {
  const probe = useProbe('drain');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: drain, count: .inf, emitDelayMs: 1 }
  out: { kind: probe-sink, from: [src], probe: drain, delayMs: 3 }
  dlq: { kind: probe-sink, probe: drain }
`);
  const runtime = new Runtime(t, { logger });
  const done = runtime.run();
  while (probe.emitted < 50) await sleep(5);
  runtime.stop();
  const summary = await done;
  assert.equal(summary.drainTimedOut, false);
  assert.equal(summary.unfinished, 0);
  assert.equal(probe.written.get('out')?.length, probe.emitted);
  assert.equal(probe.commits.at(-1)?.offset, probe.emitted - 1);
});

test('a drain that takes longer than drainTimeoutMs gives up without committing unfinished inputs', async () => {
  const probe = useProbe('timeout');
  const t = topology(`limits: { drainTimeoutMs: 100, commitIntervalMs: 0 }
nodes:
  src: { kind: counting-source, probe: timeout, count: .inf, emitDelayMs: 1 }
  out: { kind: probe-sink, from: [src], probe: timeout, hold: true }
  dlq: { kind: probe-sink, probe: timeout }
`);
  const runtime = new Runtime(t, { logger });
  const done = runtime.run();
  while (probe.emitted < 5) await sleep(5);
  runtime.stop();
  const summary = await done;
  assert.equal(summary.drainTimedOut, true);
  assert.ok(summary.unfinished > 0);
  assert.equal(probe.commits.length, 0, 'nothing was acknowledged, so nothing is committed');
});

test('after a drain that timed out, a sink that cannot close (its store gone) holds the stop for at most CLOSE_AFTER_TIMEOUT_MS', async () => {
  const probe = useProbe('stuck');
  const t = topology(`limits: { drainTimeoutMs: 100, commitIntervalMs: 0 }
nodes:
  src: { kind: counting-source, probe: stuck, count: .inf, emitDelayMs: 1 }
  out: { kind: probe-sink, from: [src], probe: stuck, hold: true, stuckClose: true }
  dlq: { kind: probe-sink, probe: stuck }
`);
  const runtime = new Runtime(t, { logger });
  const done = runtime.run();
  while (probe.emitted < 5) await sleep(5);
  const stopped = performance.now();
  runtime.stop();
  const summary = await done;
  const tookMs = performance.now() - stopped;
  assert.equal(summary.drainTimedOut, true);
  assert.ok(tookMs >= CLOSE_AFTER_TIMEOUT_MS && tookMs < 100 + CLOSE_AFTER_TIMEOUT_MS + 2000, `the stop took ${tookMs.toFixed(0)} ms`);
  assert.equal(probe.commits.length, 0);
});

test('sink errors: retriable ones are retried, the others send the inputs to the dead-letter sink', async () => {
  const probe = useProbe('sinkerr');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: sinkerr, count: 10 }
  flaky: { kind: probe-sink, from: [src], probe: sinkerr, failWith: retriable-once }
  broken: { kind: probe-sink, from: [src], probe: sinkerr, failWith: fatal }
  dlq: { kind: probe-sink, probe: sinkerr }
`);
  const summary = await new Runtime(t, { logger }).run();
  assert.equal(probe.written.get('flaky')?.length, 10);
  assert.equal(probe.deadLetters.length, 10);
  assert.ok(probe.deadLetters.every((d) => d.node === 'broken'));
  assert.equal(summary.deadLetters, 10);
  assert.equal(probe.commits.at(-1)?.offset, 9);
});

test('micro-batch with dtype auto packs what the node getting its batches asks for; float32 when it asks nothing; a set dtype is kept', async () => {
  const probe = useProbe('dtype');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: dtype, count: 6 }
  image: { kind: tiny-image, from: [src] }
  half: { kind: micro-batch, from: [image], maxSize: 3, maxDelayMs: 10000 }
  wantsHalf: { kind: dtype-probe, from: [half], probe: dtype, wants: float16 }
  bytes: { kind: micro-batch, from: [image], maxSize: 3, maxDelayMs: 10000 }
  wantsBytes: { kind: dtype-probe, from: [bytes], probe: dtype, wants: uint8 }
  copies: { kind: dtype-probe, from: [bytes], probe: dtype, wants: float16 }
  none: { kind: micro-batch, from: [image], maxSize: 3, maxDelayMs: 10000 }
  nothingAsked: { kind: dtype-probe, from: [none], probe: dtype }
  set: { kind: micro-batch, from: [image], maxSize: 3, maxDelayMs: 10000, dtype: float32 }
  keptAsSet: { kind: dtype-probe, from: [set], probe: dtype, wants: float16 }
  out: { kind: probe-sink, from: [wantsHalf, wantsBytes, copies, nothingAsked, keptAsSet], probe: dtype }
  dlq: { kind: probe-sink, probe: dtype }
`);
  const summary = await new Runtime(t, { logger }).run();
  assert.equal(summary.deadLetters, 0);
  const seen = (node: string): string[] => [...new Set(probe.batchDtypes.get(node) ?? [])];
  assert.deepEqual(seen('wantsHalf'), ['float16']);
  assert.equal(probe.batchDtypes.get('wantsHalf')?.length, 2, 'six inputs, batches of three');
  assert.deepEqual(seen('wantsBytes'), ['uint8'], 'the first node fed gets the tensor and is asked');
  assert.deepEqual(seen('copies'), [], 'the second gets copies without the tensor: its wish is not asked');
  assert.deepEqual(seen('nothingAsked'), ['float32']);
  assert.deepEqual(seen('keptAsSet'), ['float32'], 'a dtype set by hand is kept');
  assert.equal(probe.written.get('out')?.length, 30, 'every input reaches the sink through each of the five');
});

test('a micro-batch whose settings the node fed cannot take stops the run at wiring with CONFIG_INVALID, before any input is read', async () => {
  const probe = useProbe('dtype-refused');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: dtype-refused, count: 6 }
  image: { kind: tiny-image, from: [src] }
  batch: { kind: micro-batch, from: [image], maxSize: 3, maxDelayMs: 10000, dtype: float16 }
  floatOnly: { kind: dtype-probe, from: [batch], probe: dtype-refused, wants: float32, only: true }
  out: { kind: probe-sink, from: [floatOnly], probe: dtype-refused }
  dlq: { kind: probe-sink, probe: dtype-refused }
`);
  await assert.rejects(new Runtime(t, { logger }).run(), (error: CentaurError) => {
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.message, 'node `batch`: micro-batch packs float16, but node `floatOnly` (dtype-probe) takes float32; set `dtype: auto` (or leave it out)');
    return true;
  });
  assert.equal(probe.emitted, 0, 'no input was read');
  assert.equal(probe.written.size, 0);
  assert.deepEqual(probe.deadLetters, []);
  assert.deepEqual([...probe.closed].sort(), ['counting-source', 'dlq', 'floatOnly', 'out'], 'every node was closed');
});
