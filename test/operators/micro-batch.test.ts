import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ajv } from 'ajv';
import { TestScheduler } from 'rxjs/testing';
import type { SchedulerLike } from 'rxjs';
import { pino } from 'pino';
import { EMPTY } from 'rxjs';
import type { BatchWish, OperatorContext, PackedDtype } from '../../src/core/component.js';
import type { Batch, Envelope, ImageTensor, Item } from '../../src/core/envelope.js';
import { isBatch } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { toFloat16Array } from '../../src/core/fp16.js';
import { MicroBatchOptions, createMicroBatch, microBatch } from '../../src/operators/micro-batch.js';
import { packBatch } from '../../src/tensors/pack-batch.js';

const noop = (): void => {};

function envelope(id: string, tensor?: ImageTensor): Envelope {
  return {
    id,
    eventTime: 0,
    position: { source: 'test', partition: '0', offset: Number(id.replace(/\D/g, '')) || 0 },
    payload: { kind: 'bytes', bytes: Buffer.alloc(0) },
    sizeBytes: tensor?.data.byteLength ?? 0,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: noop, deadLettered: noop },
    ...(tensor === undefined ? {} : { tensor }),
  };
}

/** A 1×2 RGB image whose pixels are all `v`. */
const flat = (v: number, width = 2): ImageTensor => ({
  data: new Uint8Array(width * 3).fill(v),
  width,
  height: 1,
  channels: 3,
  scale: 'uint8',
});

const defaults = (overrides: Partial<MicroBatchOptions> = {}): MicroBatchOptions => ({
  maxSize: 3,
  maxDelayMs: 10,
  layout: 'NHWC',
  dtype: 'float32',
  poolSize: 2,
  ...overrides,
});

function context(scheduler: SchedulerLike): { ctx: OperatorContext; failed: { id: string; error: unknown }[] } {
  const failed: { id: string; error: unknown }[] = [];
  return { ctx: { nodeId: 'batch', scheduler, fail: (e, error) => failed.push({ id: e.id, error }) }, failed };
}

const ids = (item: Item): string[] => (isBatch(item) ? item.envelopes.map((e) => e.id) : [item.id]);

void test('schema defaults: maxSize 16, maxDelayMs 50, NHWC, dtype auto, poolSize 4; unknown fields rejected', () => {
  const ajv = new Ajv({ useDefaults: true, strict: false });
  const validate = ajv.compile(MicroBatchOptions);
  const options = {};
  assert.ok(validate(options));
  assert.deepEqual(options, { maxSize: 16, maxDelayMs: 50, layout: 'NHWC', dtype: 'auto', poolSize: 4 });
  assert.equal(validate({ maxSize: 0 }), false);
  assert.equal(validate({ sise: 3 }), false);
  assert.ok(validate({ dtype: 'float16' }));
  assert.equal(validate({ dtype: 'float64' }), false);
  assert.equal(microBatch.kind, 'micro-batch');
  assert.equal(microBatch.stability, 'beta');
});

void test('batches by size and by delay, packing tensors into pooled buffers', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults());
  const { ctx, failed } = context(ts);
  const batches: { at: number; batch: Batch }[] = [];
  ts.run(({ cold, flush }) => {
    const e = (i: number): Envelope => envelope(`e${i}`, flat(i * 10));
    const source = cold<Item>('abc-d 20ms |', { a: e(1), b: e(2), c: e(3), d: e(4) });
    op.apply(source, ctx).subscribe((item) => batches.push({ at: ts.now(), batch: item as Batch }));
    flush();
  });
  assert.deepEqual(failed, []);
  assert.deepEqual(
    batches.map(({ at, batch }) => ({ at, ids: ids(batch) })),
    [
      { at: 2, ids: ['e1', 'e2', 'e3'] },
      { at: 14, ids: ['e4'] },
    ],
  );
  const [first, second] = batches.map((b) => b.batch);
  assert.ok(first?.tensor && second?.tensor);
  assert.deepEqual(first.tensor.shape, [3, 1, 2, 3]);
  assert.equal(first.tensor.layout, 'NHWC');
  assert.ok(first.tensor.data instanceof Float32Array);
  assert.equal(first.tensor.data.length, 3 * 6); // capacity maxSize × image
  assert.deepEqual(Array.from(first.tensor.data), [...new Array<number>(6).fill(10), ...new Array<number>(6).fill(20), ...new Array<number>(6).fill(30)]);
  assert.deepEqual(second.tensor.shape, [1, 1, 2, 3]);
  assert.deepEqual(Array.from(second.tensor.data.subarray(0, 6)), new Array<number>(6).fill(40));
  // e4 waited the full delay in the batcher; e1 waited 2 frames.
  assert.equal(second.envelopes[0]?.timings.batch, 10);
  assert.equal(first.envelopes[0]?.timings.batch, 2);

  assert.deepEqual(op.poolStats(), { size: 2, outstanding: 2, allocatedBeyondPool: 0 });
  first.tensor.release();
  second.tensor.release();
  assert.deepEqual(op.poolStats(), { size: 2, outstanding: 0, allocatedBeyondPool: 0 });
  assert.throws(() => first.tensor?.release(), CentaurError);
});

void test('NCHW uint8 packing', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults({ layout: 'NCHW', dtype: 'uint8', maxSize: 2 }));
  const { ctx } = context(ts);
  const out: Batch[] = [];
  const img: ImageTensor = { data: Uint8Array.from([1, 2, 3, 4, 5, 6]), width: 2, height: 1, channels: 3, scale: 'unit' };
  ts.run(({ cold, flush }) => {
    op.apply(cold<Item>('a|', { a: envelope('e1', img) }), ctx).subscribe((item) => out.push(item as Batch));
    flush();
  });
  const tensor = out[0]?.tensor;
  assert.ok(tensor);
  assert.ok(tensor.data instanceof Uint8Array);
  assert.deepEqual(tensor.shape, [1, 3, 1, 2]);
  assert.deepEqual(Array.from(tensor.data.subarray(0, 6)), [1, 4, 2, 5, 3, 6]);
  tensor.release();
});

void test('dtype float16: half-precision bits equal to converting the float32 packing; the pooled buffers are reused', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults({ layout: 'NCHW', dtype: 'float16', maxSize: 2, poolSize: 2 }));
  const { ctx, failed } = context(ts);
  const images = Array.from({ length: 12 }, (_, i): ImageTensor => ({
    data: Uint8Array.from({ length: 6 }, (_, j) => (i * 41 + j * 29) % 256),
    width: 2,
    height: 1,
    channels: 3,
    scale: i % 2 === 0 ? 'unit' : 'symmetric',
  }));
  const buffers = new Set<unknown>();
  const packed: number[][] = [];
  ts.run(({ cold, flush }) => {
    const values = Object.fromEntries(images.map((img, i) => [String.fromCharCode(97 + i), envelope(`e${i}`, img)]));
    op.apply(cold<Item>('abcdefghijkl|', values), ctx).subscribe((item) => {
      const tensor = (item as Batch).tensor;
      assert.ok(tensor?.data instanceof Uint16Array);
      assert.deepEqual(tensor.shape, [2, 3, 1, 2]);
      buffers.add(tensor.data);
      packed.push(Array.from(tensor.data.subarray(0, 12)));
      // The next stage is done with the batch: its buffer goes back to the pool.
      tensor.release();
    });
    flush();
  });
  assert.deepEqual(failed, []);
  assert.equal(packed.length, 6);
  for (let b = 0; b < 6; b += 1) {
    const floats = new Float32Array(12);
    packBatch(images.slice(2 * b, 2 * b + 2), floats, 'NCHW', 'float32');
    assert.deepEqual(packed[b], Array.from(toFloat16Array(floats)), `batch ${b}`);
  }
  assert.equal(buffers.size, 1, 'every batch reused the one pooled buffer');
  assert.deepEqual(op.poolStats(), { size: 2, outstanding: 0, allocatedBeyondPool: 0 });
});

/** What a node fed that takes every element type wants, preferring `dtype`. */
const wish = (dtype: PackedDtype, edit: Partial<BatchWish> = {}): BatchWish => ({
  who: 'infer (model m 1 on test)',
  dtype,
  accepts: ['float32', 'float16', 'uint8'],
  layout: 'NHWC',
  ...edit,
});

void test('settings the node fed cannot take stop the wiring with CONFIG_INVALID; a maxSize above its row limit is a warning', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const { ctx } = context(ts);
  const floatOnly = wish('float32', { accepts: ['float32'] });
  assert.throws(
    () => createMicroBatch(defaults({ dtype: 'float16' })).apply(EMPTY, { ...ctx, batchWish: floatOnly }),
    (error: CentaurError) =>
      error.code === 'CONFIG_INVALID' &&
      error.message === 'node `batch`: micro-batch packs float16, but infer (model m 1 on test) takes float32; set `dtype: auto` (or leave it out)',
  );
  assert.throws(
    () => createMicroBatch(defaults({ layout: 'NCHW' })).apply(EMPTY, { ...ctx, batchWish: floatOnly }),
    (error: CentaurError) => error.code === 'CONFIG_INVALID' && error.message === 'node `batch`: micro-batch packs NCHW, but infer (model m 1 on test) takes NHWC; set `layout: NHWC`',
  );
  const lines: { msg: string; maxRows?: number }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as { msg: string }) });
  createMicroBatch(defaults({ dtype: 'auto', maxSize: 10 }), undefined, logger).apply(EMPTY, { ...ctx, batchWish: wish('float32', { maxRows: 4 }) });
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['Batches are packed as float32 (dtype: auto).', 'maxSize 10 is above the 4 rows infer (model m 1 on test) runs at once: a full batch is split into 3 runs.'],
  );
  lines.length = 0;
  createMicroBatch(defaults({ dtype: 'float32', maxSize: 4 }), undefined, logger).apply(EMPTY, { ...ctx, batchWish: wish('float32', { maxRows: 4 }) });
  assert.deepEqual(lines, [], 'nothing to say when the settings fit');
});

void test('dtype auto packs what the node fed asks for (float16, uint8), float32 when it asks nothing; a set dtype is kept', () => {
  const img: ImageTensor = { data: Uint8Array.from([0, 51, 102, 153, 204, 255]), width: 2, height: 1, channels: 3, scale: 'unit' };
  const packedBy = (dtype: MicroBatchOptions['dtype'], wanted?: PackedDtype): Batch => {
    const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
    const op = createMicroBatch(defaults({ dtype, maxSize: 1 }));
    const { ctx } = context(ts);
    const out: Batch[] = [];
    ts.run(({ cold, flush }) => {
      op.apply(cold<Item>('a|', { a: envelope('e1', img) }), wanted === undefined ? ctx : { ...ctx, batchWish: wish(wanted) }).subscribe((item) => out.push(item as Batch));
      flush();
    });
    assert.equal(out.length, 1);
    return out[0] as Batch;
  };
  const floats = new Float32Array(6);
  packBatch([img], floats, 'NHWC', 'float32');
  const half = packedBy('auto', 'float16').tensor?.data;
  assert.ok(half instanceof Uint16Array, 'float16 when asked');
  assert.deepEqual(Array.from(half.subarray(0, 6)), Array.from(toFloat16Array(floats)));
  const bytes = packedBy('auto', 'uint8').tensor?.data;
  assert.ok(bytes instanceof Uint8Array, 'uint8 when asked');
  assert.deepEqual(Array.from(bytes.subarray(0, 6)), Array.from(img.data));
  const plain = packedBy('auto').tensor?.data;
  assert.ok(plain instanceof Float32Array, 'float32 when nothing is asked');
  assert.deepEqual(Array.from(plain.subarray(0, 6)), Array.from(floats));
  assert.ok(packedBy('float32', 'float16').tensor?.data instanceof Float32Array, 'a dtype set by hand is kept');
  assert.ok(packedBy('float16', 'float32').tensor?.data instanceof Uint16Array, 'a dtype set by hand is kept');
});

void test('envelopes whose image shape differs from the first fail with TENSOR_SHAPE_MISMATCH and are left out', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults({ maxSize: 4 }));
  const { ctx, failed } = context(ts);
  const out: Batch[] = [];
  ts.run(({ cold, flush }) => {
    const source = cold<Item>('abcd|', {
      a: envelope('e1', flat(1)),
      b: envelope('e2', flat(2, 3)), // 1×3 instead of 1×2
      c: envelope('e3'), // no image among images
      d: envelope('e4', flat(4)),
    });
    op.apply(source, ctx).subscribe((item) => out.push(item as Batch));
    flush();
  });
  assert.deepEqual(out.map(ids), [['e1', 'e4']]);
  assert.deepEqual(
    failed.map((f) => [f.id, (f.error as CentaurError).code]),
    [
      ['e2', 'TENSOR_SHAPE_MISMATCH'],
      ['e3', 'TENSOR_SHAPE_MISMATCH'],
    ],
  );
  assert.match((failed[0]?.error as Error).message, /1×3×3/);
  const tensor = out[0]?.tensor;
  assert.ok(tensor);
  assert.deepEqual(tensor.shape, [2, 1, 2, 3]);
  assert.deepEqual(Array.from(tensor.data.subarray(0, 12)), [...new Array<number>(6).fill(1), ...new Array<number>(6).fill(4)]);
  tensor.release();
});

void test('a batch of envelopes without images is emitted with tensor null', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults());
  const { ctx, failed } = context(ts);
  const out: Batch[] = [];
  ts.run(({ cold, flush }) => {
    op.apply(cold<Item>('ab|', { a: envelope('e1'), b: envelope('e2') }), ctx).subscribe((item) => out.push(item as Batch));
    flush();
  });
  assert.deepEqual(failed, []);
  assert.equal(out.length, 1);
  assert.equal(out[0]?.tensor, null);
  assert.deepEqual(out.map(ids), [['e1', 'e2']]);
  assert.deepEqual(op.poolStats(), { size: 0, outstanding: 0, allocatedBeyondPool: 0 });
});

void test('more batches held downstream than poolSize: allocates beyond the pool and counts it', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults({ maxSize: 1, poolSize: 2 }));
  const { ctx } = context(ts);
  const out: Batch[] = [];
  ts.run(({ cold, flush }) => {
    const source = cold<Item>('abc|', { a: envelope('e1', flat(1)), b: envelope('e2', flat(2)), c: envelope('e3', flat(3)) });
    op.apply(source, ctx).subscribe((item) => out.push(item as Batch));
    flush();
  });
  assert.equal(out.length, 3);
  assert.deepEqual(op.poolStats(), { size: 2, outstanding: 3, allocatedBeyondPool: 1 });
  for (const b of out) b.tensor?.release();
  assert.equal(op.poolStats().outstanding, 0);
});

void test('an incoming batch is flattened and re-batched', () => {
  const ts = new TestScheduler((a, e) => assert.deepEqual(a, e));
  const op = createMicroBatch(defaults({ maxSize: 2 }));
  const { ctx } = context(ts);
  const out: Batch[] = [];
  ts.run(({ cold, flush }) => {
    const batch: Batch = { kind: 'batch', envelopes: [envelope('e1'), envelope('e2'), envelope('e3')], tensor: null };
    op.apply(cold<Item>('a|', { a: batch }), ctx).subscribe((item) => out.push(item as Batch));
    flush();
  });
  assert.deepEqual(out.map(ids), [['e1', 'e2'], ['e3']]);
});
