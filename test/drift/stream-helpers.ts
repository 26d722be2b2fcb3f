/** Envelopes with image features and predictions, for drift stream tests (seeded, no images decoded). */
import type { Envelope } from '../../src/core/envelope.js';
import { Random } from '../../src/drift/state/random.js';

/** A standard normal value from a seeded generator (Box–Muller). */
export function gaussian(random: Random): number {
  const u = 1 - random.nextDouble();
  const v = random.nextDouble();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** One envelope with features drawn around `brightness`, at `eventTime`. */
export function featureEnvelope(random: Random, i: number, eventTime: number, brightness = 0.5): Envelope {
  const horse = random.nextDouble() < 0.5;
  const p = 0.7 + 0.25 * random.nextDouble();
  return {
    id: `e${i}`,
    eventTime,
    position: { source: 'test', partition: '0', offset: i },
    payload: { kind: 'bytes', bytes: Buffer.alloc(0) },
    sizeBytes: 0,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    image: {
      width: 320,
      height: 240,
      format: random.nextDouble() < 0.9 ? 'jpeg' : 'png',
      brightness: brightness + 0.08 * gaussian(random),
      contrast: 0.2 + 0.03 * gaussian(random),
      sharpness: 0.01 + 0.002 * gaussian(random),
    },
    prediction: { label: horse ? 'horse' : 'human', classIndex: horse ? 0 : 1, confidence: p, probabilities: horse ? [p, 1 - p] : [1 - p, p] },
    model: { name: 'demo', version: '1', classes: ['horse', 'human'] },
    embedding: Float32Array.from([brightness + 0.05 * gaussian(random), 0.3 + 0.05 * gaussian(random), 0.1]),
  };
}

/** `count` envelopes one second apart from `start`. */
export function featureEnvelopes(seed: number, count: number, options: { start?: number; brightness?: number; offset?: number } = {}): Envelope[] {
  const random = Random.fromSeed(seed);
  return Array.from({ length: count }, (_, i) => featureEnvelope(random, (options.offset ?? 0) + i, (options.start ?? 0) + i * 1000, options.brightness ?? 0.5));
}
