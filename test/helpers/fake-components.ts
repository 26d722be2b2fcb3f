/**
 * In-memory components for unit tests of the runtime's logic (acknowledgement, commits,
 * backpressure, dead letters). Integration tests use the real components.
 */
import { Type } from '@sinclair/typebox';
import { concatMap, map } from 'rxjs';
import { defineOperator, defineSink, defineSource } from '../../src/core/component.js';
import type { BatchWish, ComponentSpec, DeadLetter, PackedDtype, Source, SourceContext } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { envelopesOf, isBatch } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { microBatch } from '../../src/operators/micro-batch.js';
import { dtypeOf } from '../../src/tensors/tensor-pool.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** What the fakes observed, shared by a test through a registry keyed by name. */
export interface Probe {
  commits: { partition: string; offset: number }[];
  emitted: number;
  written: Map<string, Envelope[]>;
  deadLetters: DeadLetter[];
  pauses: number;
  resumes: number;
  /** Envelopes a `hold-sink` is holding back, released by the test. */
  held: (() => void)[];
  /** Nodes whose `close` was called (counting sources, dtype probes and probe sinks). */
  closed: string[];
  /** Element type of each packed batch a `dtype-probe` operator received, by node. */
  batchDtypes: Map<string, string[]>;
  /** Called by `slow-sink` on each write with the current time. */
  onWrite?: (sink: string, envelopes: readonly Envelope[]) => void | Promise<void>;
}

export function newProbe(): Probe {
  return { commits: [], emitted: 0, written: new Map(), deadLetters: [], pauses: 0, resumes: 0, held: [], closed: [], batchDtypes: new Map() };
}

const probes = new Map<string, Probe>();

/** Registers a probe under a name that topologies refer to with `probe: <name>`. */
export function useProbe(name: string): Probe {
  const probe = newProbe();
  probes.set(name, probe);
  return probe;
}

function probeOf(name: string): Probe {
  const probe = probes.get(name);
  if (probe === undefined) throw new Error(`no probe ${name}`);
  return probe;
}

class CountingSource implements Source {
  private paused = false;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly probe: Probe,
    private readonly count: number,
    private readonly payloadBytes: number,
    private readonly failEvery: number,
    private readonly emitDelayMs: number,
  ) {}

  async start(ctx: SourceContext): Promise<void> {
    for (let offset = 0; offset < this.count && !this.stopped; offset += 1) {
      while (this.paused && !this.stopped) await new Promise<void>((resolve) => (this.wake = resolve));
      if (this.stopped) break;
      const init = {
        id: `input-${offset}`,
        eventTime: Date.now(),
        position: { source: 'src', partition: 'p0', offset },
        payload: { kind: 'bytes' as const, bytes: Buffer.alloc(this.payloadBytes, offset % 256) },
        sizeBytes: this.payloadBytes,
      };
      this.probe.emitted += 1;
      if (this.failEvery > 0 && offset % this.failEvery === this.failEvery - 1) ctx.fail(init, new CentaurError('INPUT_READ_FAILED', `cannot read ${offset}`));
      else ctx.emit(init);
      // Yield to the event loop so completions can run, as real I/O-bound sources do.
      await (this.emitDelayMs > 0 ? sleep(this.emitDelayMs) : new Promise((resolve) => setImmediate(resolve)));
    }
  }

  pause(): void {
    this.paused = true;
    this.probe.pauses += 1;
  }

  resume(): void {
    this.paused = false;
    this.probe.resumes += 1;
    this.wake?.();
  }

  async commit(partition: string, offset: number): Promise<void> {
    this.probe.commits.push({ partition, offset });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
  }

  async close(): Promise<void> {
    this.probe.closed.push('counting-source');
  }
}

/** A source of `count` inputs (Infinity = until stopped), each `payloadBytes` long. */
export const countingSource = defineSource({
  kind: 'counting-source',
  role: 'source',
  description: 'Test source.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object(
    {
      probe: Type.String(),
      count: Type.Number({ default: 10 }),
      payloadBytes: Type.Integer({ default: 16 }),
      failEvery: Type.Integer({ default: 0 }),
      emitDelayMs: Type.Integer({ default: 0 }),
    },
    { additionalProperties: false },
  ),
  create: (o) => new CountingSource(probeOf(o.probe), o.count, o.payloadBytes, o.failEvery, o.emitDelayMs),
});

/** Fails inputs whose offset is a multiple of `every`, passes the others on. */
export const failingOperator = defineOperator({
  kind: 'fail-some',
  role: 'operator',
  description: 'Test operator.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({ every: Type.Integer({ default: 3 }), delayMs: Type.Integer({ default: 0 }) }, { additionalProperties: false }),
  create: (o) => ({
    accepts: 'envelope',
    apply: (input, ctx) =>
      input.pipe(
        concatMap(async (item) => {
          if (o.delayMs > 0) await sleep(o.delayMs);
          const kept = envelopesOf(item).filter((e) => {
            if (e.position.offset % o.every === 0) {
              ctx.fail(e, new CentaurError('IMAGE_DECODE_FAILED', `bad input ${e.id}`));
              return false;
            }
            return true;
          });
          return kept;
        }),
        concatMap((envelopes) => envelopes),
      ),
  }),
});

/** Gives each envelope a decoded 1×1 RGB image, as decode-image would. */
export const tinyImageOperator = defineOperator({
  kind: 'tiny-image',
  role: 'operator',
  description: 'Test operator.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({}, { additionalProperties: false }),
  create: () => ({
    accepts: 'envelope',
    apply: (input) =>
      input.pipe(
        map((item) => {
          for (const e of envelopesOf(item)) e.tensor = { data: Uint8Array.from([10, 20, 30]), width: 1, height: 1, channels: 3, scale: 'unit' };
          return item;
        }),
      ),
  }),
});

/** Asks for packed batches of `wants` (if set) and records the element type of each batch it gets. */
export const dtypeProbeOperator = defineOperator({
  kind: 'dtype-probe',
  role: 'operator',
  description: 'Test operator.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object(
    {
      probe: Type.String(),
      wants: Type.Optional(Type.Union([Type.Literal('float32'), Type.Literal('float16'), Type.Literal('uint8')])),
      only: Type.Boolean({ default: false }),
      layout: Type.Union([Type.Literal('NHWC'), Type.Literal('NCHW')], { default: 'NHWC' }),
    },
    { additionalProperties: false },
  ),
  create: (o, ctx) => {
    const probe = probeOf(o.probe);
    return {
      accepts: 'batch',
      close: async () => {
        probe.closed.push(ctx.nodeId);
      },
      ...(o.wants === undefined
        ? {}
        : {
            batchWish: (): BatchWish => {
              const dtype = o.wants as PackedDtype;
              return { who: 'dtype-probe', dtype, accepts: o.only ? [dtype] : ['float32', 'float16', 'uint8'], layout: o.layout };
            },
          }),
      apply: (input) =>
        input.pipe(
          map((item) => {
            if (isBatch(item) && item.tensor !== null) {
              const list = probe.batchDtypes.get(ctx.nodeId) ?? [];
              list.push(dtypeOf(item.tensor.data));
              probe.batchDtypes.set(ctx.nodeId, list);
              item.tensor.release();
              return { ...item, tensor: null };
            }
            return item;
          }),
        ),
    };
  },
});

/** A sink that records what it writes, optionally slowly, holding, or failing. */
export const probeSink = defineSink({
  kind: 'probe-sink',
  role: 'sink',
  description: 'Test sink.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object(
    {
      probe: Type.String(),
      delayMs: Type.Number({ default: 0 }),
      hold: Type.Boolean({ default: false }),
      /** The end-of-input flush and the close never finish (a store that is gone). */
      stuckClose: Type.Boolean({ default: false }),
      failWith: Type.Union([Type.Literal('none'), Type.Literal('retriable-once'), Type.Literal('retriable-always'), Type.Literal('fatal')], { default: 'none' }),
    },
    { additionalProperties: false },
  ),
  create: (o, ctx) => {
    const probe = probeOf(o.probe);
    const seenFailure = new Set<string>();
    return {
      write: async (envelopes) => {
        await probe.onWrite?.(ctx.nodeId, envelopes);
        if (o.failWith === 'fatal') throw new CentaurError('IMAGE_DECODE_FAILED', 'sink rejects this input');
        if (o.failWith === 'retriable-always') throw new CentaurError('SINK_WRITE_FAILED', 'the store is down');
        if (o.failWith === 'retriable-once') {
          const key = envelopes.map((e) => e.id).join(',');
          if (!seenFailure.has(key)) {
            seenFailure.add(key);
            throw new CentaurError('SINK_WRITE_FAILED', 'temporarily unavailable');
          }
        }
        if (o.delayMs > 0) await sleep(o.delayMs);
        if (o.hold) await new Promise<void>((resolve) => probe.held.push(resolve));
        const list = probe.written.get(ctx.nodeId) ?? [];
        // Keep what tests inspect, not the payload bytes (memory tests count what the runtime holds).
        list.push(...envelopes.map((e) => ({ ...e, payload: { kind: 'reference' as const, uri: e.id } })));
        probe.written.set(ctx.nodeId, list);
      },
      writeDeadLetters: async (letters) => {
        probe.deadLetters.push(...letters);
      },
      flush: async (endOfInput) => {
        if (o.stuckClose && endOfInput) await new Promise<void>(() => undefined);
      },
      close: async () => {
        if (o.stuckClose) await new Promise<void>(() => undefined);
        probe.closed.push(ctx.nodeId);
      },
    };
  },
});

export const fakeComponents: readonly ComponentSpec[] = [countingSource, failingOperator, probeSink, tinyImageOperator, dtypeProbeOperator, microBatch];
