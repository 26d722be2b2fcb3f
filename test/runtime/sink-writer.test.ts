/**
 * Feeding a sink: writes are retried, refused envelopes and writes failed for good become dead
 * letters, the rest are acknowledged; gathered writes; a flush as soon as the input ends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { asyncScheduler, from } from 'rxjs';
import type { DeadLetter, Sink } from '../../src/core/component.js';
import type { Envelope, Item } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import type { NodeCounters, NodeHealth } from '../../src/runtime/node-counters.js';
import { writeToSink } from '../../src/runtime/sink-writer.js';

function envelope(offset: number, acks: number[]): Envelope {
  return {
    id: `e${offset}`,
    eventTime: 0,
    position: { source: 's', partition: 'p', offset },
    payload: { kind: 'bytes', bytes: Buffer.from('x') },
    sizeBytes: 1,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => void acks.push(offset), deadLettered: () => undefined },
  };
}

function harness(sink: Sink, ended = new AbortController().signal) {
  const counters: NodeCounters = { received: 0, sent: 0, failed: 0 };
  const health: NodeHealth = { state: 'running' };
  const letters: DeadLetter[] = [];
  const timer = { observe: () => undefined, observeMany: () => undefined };
  const ctx = { id: 'out', sink, counters, health, timer, deadLetters: { send: (l: DeadLetter) => void letters.push(l) }, logger: createLogger('silent'), scheduler: asyncScheduler, attempts: 3, ended, kind: 'files' };
  return { counters, health, letters, ctx };
}

test('acknowledges what was written, dead-letters what the sink refused, retries a failing write', async () => {
  const acks: number[] = [];
  let calls = 0;
  let flushedAtEnd = false;
  const sink: Sink = {
    write: async (envelopes) => {
      calls += 1;
      if (calls === 1) throw new CentaurError('SINK_WRITE_FAILED', 'busy', { retriable: true });
      return envelopes.filter((e) => e.position.offset === 2).map((e) => ({ envelope: e, error: new CentaurError('PAYLOAD_MISSING', 'no prediction') }));
    },
    flush: async (end) => void (flushedAtEnd ||= end),
    close: async () => undefined,
  };
  const h = harness(sink);
  const items: Item[] = [0, 1, 2, 3].map((o) => envelope(o, acks));
  await writeToSink(from(items), h.ctx);
  assert.deepEqual(acks, [0, 1, 3]);
  assert.deepEqual(h.letters.map((l) => [l.envelope.position.offset, l.node, l.error.code]), [[2, 'out', 'PAYLOAD_MISSING']]);
  assert.deepEqual(h.counters, { received: 4, sent: 3, failed: 1 });
  assert.equal(h.health.state, 'running', 'healthy again after the retry succeeded');
  assert.ok(flushedAtEnd, 'flushed as soon as the input ended');
});

test('a write that fails for good dead-letters its envelopes; gathered writes batch envelopes', async () => {
  const acks: number[] = [];
  const sizes: number[] = [];
  const sink: Sink = {
    batching: { maxSize: 3, maxDelayMs: 1000 },
    write: async (envelopes) => {
      sizes.push(envelopes.length);
      if (envelopes.some((e) => e.position.offset === 4)) throw new CentaurError('SINK_WRITE_FAILED', 'gone', { retriable: false });
    },
    flush: async () => undefined,
    close: async () => undefined,
  };
  const h = harness(sink);
  await writeToSink(from([0, 1, 2, 3, 4].map((o) => envelope(o, acks))), h.ctx);
  assert.deepEqual(sizes, [3, 2]);
  assert.deepEqual(acks, [0, 1, 2]);
  assert.deepEqual(h.letters.map((l) => l.envelope.position.offset), [3, 4]);
  assert.equal(h.health.state, 'failing');
  assert.match(h.health.reason ?? '', /gone/);
});
