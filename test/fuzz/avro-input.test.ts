/**
 * Fuzzing the Avro decoding of Kafka (and Kinesis) inputs: `decodeInput` with `format: avro`, the
 * Confluent wire format (magic byte, schema id, body) through `AvroRegistryCodec` against an
 * in-process registry serving the built-in `CameraFrame`, `ImageUpload` and `Label` schemas. Random
 * bytes, valid records with mutated bytes (flips, truncations, extensions, insertions, huge
 * length and count prefixes), wrong magic bytes and unknown schema ids each give an input or a
 * `CentaurError` with the code docs/errors.md promises (`KAFKA_VALUE_INVALID` for bad framing,
 * `SCHEMA_NOT_FOUND` for an unknown id, `AVRO_DECODE_FAILED` for a bad body, `LABEL_INVALID` for
 * a label record that decodes but is not a label) — never a raw error, a hang or a giant
 * allocation, and nothing lands on `Object.prototype`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { CentaurError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import type { KafkaInputMessage } from '../../src/kafka/client.js';
import { decodeInput, ValueOptions } from '../../src/kafka/input-message.js';
import { AvroRegistryCodec } from '../../src/kafka/schema-registry.js';
import { startFakeSchemaRegistry } from '../helpers/fake-schema-registry.js';
import type { FakeSchemaRegistry } from '../helpers/fake-schema-registry.js';
import { assertPrototypeClean, describe, PARSE_TIME_LIMIT_MS, typedOutcome } from '../helpers/fuzz.js';

const AVRO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'avro');
const schemaText = (name: string): string => readFileSync(path.join(AVRO_DIR, `${name}.avsc`), 'utf8');

const FRAME_ID = 1;
const UPLOAD_ID = 2;
const LABEL_ID = 3;
const SCHEMAS = new Map([
  [FRAME_ID, schemaText('camera-frame')],
  [UPLOAD_ID, schemaText('image-upload')],
  [LABEL_ID, schemaText('label')],
]);
const types = new Map([...SCHEMAS].map(([id, text]) => [id, avro.Type.forSchema(JSON.parse(text) as avro.Schema)]));

/** What a bad Avro input may end in, by what it claims to be. */
const IMAGE_CODES: readonly ErrorCode[] = ['KAFKA_VALUE_INVALID', 'SCHEMA_NOT_FOUND', 'AVRO_DECODE_FAILED'];
const LABEL_CODES: readonly ErrorCode[] = [...IMAGE_CODES, 'LABEL_INVALID'];

let registry: FakeSchemaRegistry;
let codec: AvroRegistryCodec;

before(async () => {
  registry = await startFakeSchemaRegistry(SCHEMAS);
  codec = await AvroRegistryCodec.create({ url: registry.url });
});

after(async () => {
  await registry.close();
});

const place = { sourceId: 'cams', partition: 'frames-0' };
const imageOptions = Value.Default(ValueOptions, {}) as ValueOptions;
const labelOptions = Value.Default(ValueOptions, { content: 'label' }) as ValueOptions;

function message(value: Buffer): KafkaInputMessage {
  return { topic: 'frames', partition: 0, offset: 7, key: Buffer.from('cam-1'), value, headers: {}, timestamp: 1_700_000_000_000 };
}

/** The Confluent wire format: magic byte 0, the schema id (big-endian int32), the Avro body. */
function framed(id: number, body: Buffer, magic = 0): Buffer {
  const header = Buffer.alloc(5);
  header[0] = magic;
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

/** An Avro long: zig-zag, then a little-endian base-128 varint (any 64-bit value, unlike avsc's safe-integer longs). */
function avroLong(value: bigint | number): Buffer {
  const n = BigInt(value);
  let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
  const out: number[] = [];
  do {
    const low = Number(z & 0x7fn);
    z >>= 7n;
    out.push(z === 0n ? low : low | 0x80);
  } while (z !== 0n);
  return Buffer.from(out);
}

/** Decodes one value both as an image input and as a label event: each outcome must be typed. */
async function decodeBoth(value: Buffer): Promise<void> {
  await typedOutcome(() => decodeInput(message(value), place, imageOptions, codec), IMAGE_CODES, () => describe(value));
  await typedOutcome(() => decodeInput(message(value), place, labelOptions, codec), LABEL_CODES, () => describe(value));
}

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'));
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 42 }), fc.constantFrom(0, 1_700_000_000_000, 2 ** 52, -(2 ** 52), -1));
const metadata = fc.dictionary(text, text, { maxKeys: 4 });

const cameraFrame = fc.record({
  cameraId: text,
  frameId: text,
  captureTime: time,
  image: fc.uint8Array({ maxLength: 48 }).map((a) => Buffer.from(a)),
  contentType: fc.option(text, { nil: null }),
  metadata,
});
const imageUpload = fc.record({
  uploadId: text,
  uri: text,
  uploader: text,
  uploadTime: time,
  contentType: fc.option(text, { nil: null }),
  sizeBytes: fc.option(time, { nil: null }),
  metadata,
});
const label = fc.record({
  inputId: text,
  label: text,
  annotator: text,
  origin: fc.oneof(text, fc.constantFrom('kafka', 'label-studio', 'ground-truth')),
  labelTime: time,
  selection: fc.option(fc.oneof(text, fc.constantFrom('uncertainty', 'diversity', 'exploration')), { nil: null }),
});

/** A valid framed record of one of the three schemas. */
const validRecord = fc.oneof(
  cameraFrame.map((r) => ({ id: FRAME_ID, bytes: framed(FRAME_ID, types.get(FRAME_ID)!.toBuffer(r)) })),
  imageUpload.map((r) => ({ id: UPLOAD_ID, bytes: framed(UPLOAD_ID, types.get(UPLOAD_ID)!.toBuffer(r)) })),
  label.map((r) => ({ id: LABEL_ID, bytes: framed(LABEL_ID, types.get(LABEL_ID)!.toBuffer(r)) })),
);

/** Large and edge numbers, as a length or count prefix would claim them (up to Avro's 64-bit longs). */
const hugeNumber = fc.oneof(
  fc.constantFrom(-1n, -(2n ** 31n), 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n, 2n ** 32n + 1n, 2n ** 40n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)),
  fc.bigInt({ min: 2n ** 16n, max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 63n), max: -1n }),
);

/** One change to a framed record's body (the 5-byte header is kept, so the schema id still names a known schema). */
type Mutation =
  | { readonly op: 'flip'; readonly at: number; readonly bit: number }
  | { readonly op: 'set'; readonly at: number; readonly value: number }
  | { readonly op: 'truncate'; readonly at: number }
  | { readonly op: 'extend'; readonly extra: Uint8Array }
  | { readonly op: 'insert'; readonly at: number; readonly extra: Uint8Array }
  | { readonly op: 'delete'; readonly at: number; readonly length: number }
  // A huge number written over (or before) a byte: a length or count prefix claiming gigabytes or 2^60 items.
  | { readonly op: 'number'; readonly at: number; readonly n: bigint; readonly replace: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), extra: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
  fc.record({ op: fc.constant('number' as const), at: fc.nat(), n: hugeNumber, replace: fc.boolean() }),
);

function mutate(b: Buffer, m: Mutation): Buffer {
  const i = 5 + (('at' in m ? m.at : 0) % Math.max(1, b.length - 4)); // a body position, or just past the end
  switch (m.op) {
    case 'flip':
    case 'set': {
      if (i >= b.length) return b;
      const c = Buffer.from(b);
      c[i] = m.op === 'flip' ? (c[i] ?? 0) ^ (1 << m.bit) : m.value;
      return c;
    }
    case 'truncate':
      return b.subarray(0, i);
    case 'extend':
      return Buffer.concat([b, m.extra]);
    case 'insert':
      return Buffer.concat([b.subarray(0, i), m.extra, b.subarray(i)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, i), b.subarray(i + m.length)]);
    case 'number':
      return Buffer.concat([b.subarray(0, i), avroLong(m.n), b.subarray(m.replace ? i + 1 : i)]);
  }
}

test('a valid CameraFrame decodes to its image, id, time and metadata (the harness reaches the decoder)', async () => {
  await fc.assert(
    fc.asyncProperty(cameraFrame, async (r) => {
      fc.pre(r.image.length > 0);
      const init = await decodeInput(message(framed(FRAME_ID, types.get(FRAME_ID)!.toBuffer(r))), place, imageOptions, codec);
      assert.deepEqual(init.payload, { kind: 'bytes', bytes: r.image });
      assert.equal(init.eventTime, r.captureTime);
      assert.equal(init.metadata?.cameraId, r.cameraId);
    }),
    { seed: 0x5eed_a001, numRuns: 150 },
  );
});

test('random bytes decode to an input or a typed data error', async () => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 96 }), async (bytes) => {
      await decodeBoth(Buffer.from(bytes));
    }),
    { seed: 0x5eed_a002, numRuns: 300 },
  );
  assertPrototypeClean();
});

test('a random body behind a known schema id decodes or fails with AVRO_DECODE_FAILED (or a typed record error)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(FRAME_ID, UPLOAD_ID, LABEL_ID), fc.uint8Array({ maxLength: 96 }), async (id, body) => {
      await decodeBoth(framed(id, Buffer.from(body)));
    }),
    { seed: 0x5eed_a003, numRuns: 600 },
  );
  assertPrototypeClean();
});

test('a valid record with mutated body bytes decodes or fails with a typed data error, quickly', async () => {
  await fc.assert(
    fc.asyncProperty(validRecord, fc.array(mutation, { minLength: 1, maxLength: 4 }), async (record, mutations) => {
      const bytes = mutations.reduce(mutate, record.bytes);
      await decodeBoth(bytes);
    }),
    { seed: 0x5eed_a004, numRuns: 800 },
  );
  assertPrototypeClean();
});

test('a wrong magic byte is KAFKA_VALUE_INVALID, an unknown schema id SCHEMA_NOT_FOUND, a body under another schema typed', async () => {
  await fc.assert(
    fc.asyncProperty(
      validRecord,
      fc.oneof(
        fc.integer({ min: 1, max: 255 }).map((magic) => ({ kind: 'magic' as const, magic, id: 0 })),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).filter((id) => !SCHEMAS.has(id)).map((id) => ({ kind: 'unknown' as const, magic: 0, id })),
        fc.constantFrom(FRAME_ID, UPLOAD_ID, LABEL_ID).map((id) => ({ kind: 'other' as const, magic: 0, id })),
      ),
      async (record, header) => {
        const body = record.bytes.subarray(5);
        const bytes = framed(header.kind === 'magic' ? record.id : header.id, body, header.magic);
        for (const options of [imageOptions, labelOptions]) {
          const outcome = await typedOutcome(() => decodeInput(message(bytes), place, options, codec), LABEL_CODES, () => describe(bytes));
          if (header.kind === 'magic') assert.equal(outcome, 'KAFKA_VALUE_INVALID');
          if (header.kind === 'unknown') assert.equal(outcome, 'SCHEMA_NOT_FOUND');
        }
      },
    ),
    { seed: 0x5eed_a005, numRuns: 200 },
  );
});

test('a map count claiming 2^20 to 2^63 entries fails with AVRO_DECODE_FAILED without reading them', async () => {
  // CameraFrame's last field is its metadata map: a valid frame with no metadata ends in the count 0.
  await fc.assert(
    fc.asyncProperty(cameraFrame, fc.bigInt({ min: 2n ** 20n, max: 2n ** 63n - 1n }), async (r, count) => {
      const body = types.get(FRAME_ID)!.toBuffer({ ...r, metadata: {} });
      const bytes = framed(FRAME_ID, Buffer.concat([body.subarray(0, body.length - 1), avroLong(count)]));
      assert.equal(await typedOutcome(() => decodeInput(message(bytes), place, imageOptions, codec), IMAGE_CODES, () => describe(bytes)), 'AVRO_DECODE_FAILED');
    }),
    { seed: 0x5eed_a006, numRuns: 100 },
  );
});

test('an image length prefix claiming 2^31 to 2^63 bytes fails with AVRO_DECODE_FAILED without allocating it', async () => {
  // CameraFrame { cameraId: "c", frameId: "f", captureTime: 1, image: <length> … }: the length is the 6th body byte.
  const head = types.get(FRAME_ID)!.toBuffer({ cameraId: 'c', frameId: 'f', captureTime: 1, image: Buffer.alloc(0), contentType: null, metadata: {} }).subarray(0, 5);
  await fc.assert(
    fc.asyncProperty(fc.bigInt({ min: 2n ** 31n, max: 2n ** 63n - 1n }), fc.uint8Array({ maxLength: 32 }), async (length, rest) => {
      const bytes = framed(FRAME_ID, Buffer.concat([head, avroLong(length), rest]));
      const before = process.memoryUsage().arrayBuffers;
      assert.equal(await typedOutcome(() => decodeInput(message(bytes), place, imageOptions, codec), IMAGE_CODES, () => describe(bytes)), 'AVRO_DECODE_FAILED');
      assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 2 ** 20, 'no buffer near the claimed length was allocated');
    }),
    { seed: 0x5eed_a007, numRuns: 100 },
  );
});

test('found by fuzzing (mutated and random bodies): a 20-byte CameraFrame whose metadata count says 2^40 fails at once (avsc alone spins for hours)', async () => {
  const body = types.get(FRAME_ID)!.toBuffer({ cameraId: 'c', frameId: 'f', captureTime: 1, image: Buffer.from('ab'), contentType: null, metadata: {} });
  const bytes = framed(FRAME_ID, Buffer.concat([body.subarray(0, body.length - 1), avroLong(2 ** 40)]));
  const started = performance.now();
  await assert.rejects(decodeInput(message(bytes), place, imageOptions, codec), (error: unknown) => error instanceof CentaurError && error.code === 'AVRO_DECODE_FAILED' && /2 bytes are left|items/.test(error.message));
  assert.ok(performance.now() - started < PARSE_TIME_LIMIT_MS);
});

test('metadata keys `__proto__` and `constructor` decode without touching Object.prototype', async () => {
  const record = { cameraId: 'c', frameId: 'f', captureTime: 1, image: Buffer.from('ab'), contentType: null, metadata: { ['__proto__']: 'x', constructor: 'y', polluted: 'z' } };
  const init = await decodeInput(message(framed(FRAME_ID, types.get(FRAME_ID)!.toBuffer(record))), place, imageOptions, codec);
  assert.equal(init.metadata?.constructor, 'y');
  assertPrototypeClean();
});
