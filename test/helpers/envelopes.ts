/**
 * A plain envelope for unit tests of operators and sinks: an input already predicted by a two-class
 * model, with no-op delivery; a test overrides only what it is about.
 */
import type { Envelope } from '../../src/core/envelope.js';

/** An envelope predicted `horse` at `confidence` (default 0.6), with `overrides` applied. */
export function predictedEnvelope(id: string, overrides: Partial<Envelope> = {}, confidence = 0.6): Envelope {
  const bytes = Buffer.alloc(10);
  return {
    id,
    eventTime: 0,
    position: { source: 's', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    prediction: { label: 'horse', classIndex: 0, confidence, probabilities: [confidence, 1 - confidence] },
    model: { name: 'm', version: '1', classes: ['horse', 'human'] },
    ...overrides,
  };
}

/** An undecoded input as a source hands it over: `bytes` at `offset` of `source`, with no-op delivery. */
export function bytesEnvelope(source: string, offset: number, bytes: Buffer): Envelope {
  return {
    id: `${source}-0-${offset}`,
    eventTime: 0,
    position: { source, partition: '0', offset },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}
