/**
 * `micro-batch`: groups envelopes into batches closed at `maxSize` or `maxDelayMs` after the first
 * one arrived, and packs their decoded images into a pooled, pre-allocated batch tensor in the
 * layout and element type the model wants. Envelopes whose image shape differs from the batch's
 * first are dead-lettered (TENSOR_SHAPE_MISMATCH); envelopes with no image pass as a tensorless batch.
 *
 * The element type is `dtype`. `auto` (the default) packs what the node it feeds asks for once the
 * graph is wired: `infer` asks for its model's input type (float32, or uint8), and float16 when its
 * `kserve` backend sends FP16 (a server input of FP16, or `inputDatatype: FP16`), whose pooled
 * buffer then goes to the server as it is instead of being converted into a new array per request.
 * With no such node it packs float32. `float16` packs half precision directly (the scaled values
 * rounded to nearest even). When the graph is wired, a `dtype` set by hand, or a `layout` (default
 * NHWC), that the node fed cannot take (float16 for the in-process backends, whose models take float32) stops the
 * run with CONFIG_INVALID before any input is read, and a `maxSize` above the rows it runs at once
 * (its `maxBatchSize`, the server's max_batch_size) is a warning: such batches are split.
 */
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { filter, map, mergeMap } from 'rxjs';
import type { Observable } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { BatchWish, Operator, OperatorContext, PackedDtype } from '../core/component.js';
import { envelopesOf } from '../core/envelope.js';
import type { Batch, BatchTensor, Envelope, ImageTensor, Item } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { histogramFamily, LATENCY_BUCKETS, NO_METRICS } from '../core/metric-family.js';
import type { NodeMetrics } from '../core/metric-family.js';
import type { Logger } from '../core/logger.js';
import { describeImageShape, elementsPerImage, packBatch, sameImageShape } from '../tensors/pack-batch.js';
import { microBatchBuffer } from '../rx/micro-batch-buffer.js';
import { TensorPool } from '../tensors/tensor-pool.js';
import type { TensorPoolStats } from '../tensors/tensor-pool.js';

/** Options of `micro-batch`; defaults live in the schema (the runtime fills them in). */
export const MicroBatchOptions = Type.Object(
  {
    maxSize: Type.Integer({
      minimum: 1,
      default: 16,
      description: 'Close a batch when it holds this many envelopes. On CPU 16 sustains the same rate as 32 with a higher rate under a latency bound; a GPU server takes more.',
    }),
    maxDelayMs: Type.Number({
      minimum: 0,
      default: 50,
      description:
        'Close a batch this many milliseconds after its first envelope arrived, even if not full. Keep it above the time the cores take to decode a full batch (32 camera JPEGs: about 30 ms on 2 cores), or batches close part-full under load.',
    }),
    layout: Type.Union([Type.Literal('NHWC'), Type.Literal('NCHW')], {
      default: 'NHWC',
      description: 'Memory order of the packed batch tensor; must match the model input (checked at start against the `infer` node fed).',
    }),
    dtype: Type.Union([Type.Literal('auto'), Type.Literal('float32'), Type.Literal('float16'), Type.Literal('uint8')], {
      default: 'auto',
      description:
        'Element type of the packed batch tensor. auto: what the `infer` node fed asks for (its model input: float32 or uint8; float16 when its `kserve` backend sends FP16, so the batch goes without converting), else float32. float32 applies the image scale; float16 applies it and rounds to half precision (round to nearest even; the onnx and tfjs backends do not take it: the run stops at start); uint8 keeps raw bytes.',
    }),
    poolSize: Type.Integer({
      minimum: 1,
      default: 4,
      description: 'Batch buffers allocated up front and reused; more are allocated (and counted) when all are in use.',
    }),
  },
  { additionalProperties: false },
);
export type MicroBatchOptions = Static<typeof MicroBatchOptions>;

const batchSize = histogramFamily('centaur_batch_size', 'Envelopes per batch.', [1, 2, 4, 8, 16, 32, 64, 128, 256]);
const batchFill = histogramFamily('centaur_batch_fill_ratio', 'Batch size divided by the maximum batch size.', [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
const batchWait = histogramFamily('centaur_batch_wait_seconds', "How long a batch's first envelope waited for the batch to close.", LATENCY_BUCKETS);

/** The created operator, with its buffer-pool counters for metrics and tests. */
export interface MicroBatchOperator extends Operator {
  /** Counters summed over the pools (one per image shape seen). */
  poolStats(): TensorPoolStats;
}

/** Builds the operator; exported for tests and for embedding without the registry. */
export function createMicroBatch(options: MicroBatchOptions, metrics: NodeMetrics = NO_METRICS, logger?: Logger): MicroBatchOperator {
  const { maxSize, maxDelayMs, layout, poolSize } = options;
  const [sizes, fills, waits] = [metrics.histogram(batchSize), metrics.histogram(batchFill), metrics.histogram(batchWait)];
  // Settled when the graph is wired (apply): `auto` becomes what the node fed asks for.
  let dtype: PackedDtype = options.dtype === 'auto' ? 'float32' : options.dtype;
  // One pool per image size (normally exactly one), each buffer holding a full batch.
  const pools = new Map<number, TensorPool>();
  const poolFor = (perImage: number): TensorPool => {
    let pool = pools.get(perImage);
    if (pool === undefined) {
      pool = new TensorPool(dtype, perImage * maxSize, poolSize);
      pools.set(perImage, pool);
    }
    return pool;
  };

  /** Refuses, before anything runs, settings the node fed cannot take (its batches would all be dead letters); warns of splits. */
  const checkAgainst = (wish: BatchWish, nodeId: string): void => {
    if (!wish.accepts.includes(dtype)) {
      throw new CentaurError(
        'CONFIG_INVALID',
        `node \`${nodeId}\`: micro-batch packs ${dtype}, but ${wish.who} takes ${wish.accepts.join(' or ')}; set \`dtype: auto\` (or leave it out)`,
      );
    }
    if (layout !== wish.layout) {
      throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: micro-batch packs ${layout}, but ${wish.who} takes ${wish.layout}; set \`layout: ${wish.layout}\``);
    }
    if (wish.maxRows !== undefined && wish.maxRows >= 1 && maxSize > wish.maxRows) {
      logger?.warn(
        { maxSize, maxRows: wish.maxRows },
        `maxSize ${maxSize} is above the ${wish.maxRows} rows ${wish.who} runs at once: a full batch is split into ${Math.ceil(maxSize / wish.maxRows)} runs.`,
      );
    }
  };

  const toBatch = (arrivals: readonly Arrival[], ctx: OperatorContext): Batch | null => {
    const now = ctx.scheduler.now();
    const all: Envelope[] = [];
    let waited = 0;
    for (const { envelope, at } of arrivals) {
      envelope.timings[ctx.nodeId] = now - at;
      waited = Math.max(waited, now - at);
      all.push(envelope);
    }
    sizes.observe({}, all.length);
    fills.observe({}, Math.min(1, all.length / maxSize));
    waits.observe({}, waited / 1000);
    const reference = all.find((e) => e.tensor !== undefined)?.tensor;
    if (reference === undefined) return { kind: 'batch', envelopes: all, tensor: null };

    const envelopes: Envelope[] = [];
    const tensors: ImageTensor[] = [];
    for (const envelope of all) {
      const t = envelope.tensor;
      if (t === undefined) {
        ctx.fail(
          envelope,
          new CentaurError('TENSOR_SHAPE_MISMATCH', 'no decoded image in a batch of decoded images; add decode-image upstream'),
        );
      } else if (!sameImageShape(t, reference) || t.data.length !== elementsPerImage(t)) {
        ctx.fail(
          envelope,
          new CentaurError(
            'TENSOR_SHAPE_MISMATCH',
            `image is ${describeImageShape(t)} with ${t.data.length} bytes; the batch is ${describeImageShape(reference)}`,
          ),
        );
      } else {
        envelopes.push(envelope);
        tensors.push(t);
      }
    }
    if (tensors.length === 0) return null;
    const pool = poolFor(elementsPerImage(reference));
    const data = pool.acquire();
    let shape: [number, number, number, number];
    try {
      shape = packBatch(tensors, data, layout, dtype);
    } catch (error) {
      pool.release(data);
      throw error;
    }
    let released = false;
    const tensor: BatchTensor = {
      data,
      shape,
      layout,
      release: () => {
        if (released) throw new CentaurError('INTERNAL', 'micro-batch: batch tensor released twice');
        released = true;
        pool.release(data);
      },
    };
    return { kind: 'batch', envelopes, tensor };
  };

  return {
    accepts: 'envelope',
    apply: (input: Observable<Item>, ctx: OperatorContext): Observable<Item> => {
      const wish = ctx.batchWish;
      if (options.dtype === 'auto') {
        dtype = wish?.dtype ?? 'float32';
        logger?.info({ dtype, asked: wish !== undefined }, `Batches are packed as ${dtype} (dtype: auto).`);
      }
      if (wish !== undefined) checkAgainst(wish, ctx.nodeId);
      return input.pipe(
        // The runtime unbatches for `envelope` operators; flatten anyway so a batch never nests.
        mergeMap((item) => envelopesOf(item).map((envelope): Arrival => ({ envelope, at: ctx.scheduler.now() }))),
        microBatchBuffer<Arrival>(maxSize, maxDelayMs, ctx.scheduler),
        map((arrivals) => toBatch(arrivals, ctx)),
        filter((batch): batch is Batch => batch !== null && batch.envelopes.length > 0),
      );
    },
    poolStats: () => {
      let size = 0;
      let outstanding = 0;
      let allocatedBeyondPool = 0;
      for (const pool of pools.values()) {
        const s = pool.stats();
        size += s.size;
        outstanding += s.outstanding;
        allocatedBeyondPool += s.allocatedBeyondPool;
      }
      return { size, outstanding, allocatedBeyondPool };
    },
  };
}

interface Arrival {
  readonly envelope: Envelope;
  /** Scheduler time at which the envelope reached the batcher. */
  readonly at: number;
}

/** The `micro-batch` operator spec. */
export const microBatch = defineOperator({
  kind: 'micro-batch',
  role: 'operator',
  description: 'Groups envelopes into batches by size or delay and packs their images into one pooled tensor.',
  stability: 'beta',
  options: MicroBatchOptions,
  examples: [
    { title: 'Batches of up to 32, or what arrived within 20 ms', options: { maxSize: 32, maxDelayMs: 20 } },
  ],
  metrics: [batchSize, batchFill, batchWait],
  create: (options, ctx) => createMicroBatch(options, ctx.metrics, ctx.logger),
});
