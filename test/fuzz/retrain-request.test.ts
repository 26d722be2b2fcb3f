/**
 * Fuzzing the reading of retrain requests, as `trainer-sink` reads them from a topic: a JSON value
 * or a Confluent-framed Avro `RetrainRequest` (v1–v3, through `AvroRegistryCodec` against an
 * in-process registry) handed to `parseRetrainRequest`. Random JSON, arbitrary values (dates, big
 * integers, maps, null-prototype objects), records shaped almost right (wrong types, huge and
 * unicode strings, `__proto__` / `constructor` keys) and mutated Avro bytes each give a request or
 * a `CentaurError` (`RETRAIN_REQUEST_INVALID`; for Avro bytes also `AVRO_DECODE_FAILED`,
 * `SCHEMA_NOT_FOUND`, `KAFKA_VALUE_INVALID`); a request that parses keeps the documented bounds,
 * and nothing lands on `Object.prototype`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import fc from 'fast-check';
import type { ErrorCode } from '../../src/core/errors.js';
import { AvroRegistryCodec } from '../../src/kafka/schema-registry.js';
import { parseRetrainRequest } from '../../src/training/retrain-request-record.js';
import type { RetrainRequestRecord } from '../../src/training/retrain-request-record.js';
import { startFakeSchemaRegistry } from '../helpers/fake-schema-registry.js';
import type { FakeSchemaRegistry } from '../helpers/fake-schema-registry.js';
import { assertPrototypeClean, describe, typedOutcome, typedOutcomeSync } from '../helpers/fuzz.js';

const HISTORY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'avro', 'history', 'retrain-request');
/** Schema ids 1, 2, 3: RetrainRequest v1, v2, v3. */
const SCHEMAS = new Map([1, 2, 3].map((v) => [v, readFileSync(path.join(HISTORY, `v${v}.avsc`), 'utf8')]));
const types = new Map([...SCHEMAS].map(([id, text]) => [id, avro.Type.forSchema(JSON.parse(text) as avro.Schema)]));

const INVALID: readonly ErrorCode[] = ['RETRAIN_REQUEST_INVALID'];
const AVRO_CODES: readonly ErrorCode[] = ['RETRAIN_REQUEST_INVALID', 'AVRO_DECODE_FAILED', 'SCHEMA_NOT_FOUND', 'KAFKA_VALUE_INVALID'];

let registry: FakeSchemaRegistry;
let codec: AvroRegistryCodec;

before(async () => {
  registry = await startFakeSchemaRegistry(SCHEMAS);
  codec = await AvroRegistryCodec.create({ url: registry.url });
});

after(async () => {
  await registry.close();
});

/** What `parseRetrainRequest` promises of a request it returns. */
function assertBounded(r: RetrainRequestRecord, input: unknown): void {
  const where = `input: ${describe(input)}`;
  assert.ok(typeof r.id === 'string' && r.id.length > 0 && r.id.length <= 512, where);
  assert.ok(typeof r.episode === 'string' && r.episode.length > 0 && r.episode.length <= 512, where);
  assert.ok(Number.isSafeInteger(r.requestedAt) && r.requestedAt >= 0, where);
  assert.ok(r.reasons.length <= 16 && r.reasons.every((x) => typeof x === 'string' && x.length <= 64), where);
  assert.ok(r.model === null || (typeof r.model.name === 'string' && typeof r.model.version === 'string'), where);
}

function parses(value: unknown): void {
  let parsed: RetrainRequestRecord | undefined;
  typedOutcomeSync(() => (parsed = parseRetrainRequest(value)), INVALID, () => describe(value));
  if (parsed !== undefined) assertBounded(parsed, value);
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'polluted'];
const key = fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...PROTO_KEYS, 'id', 'episode', 'model', 'requestedAt', 'reasons', 'name', 'version'));
/** Any value, including what no JSON holds: dates, big integers, maps, sets, typed arrays, null-prototype objects. */
const anyValue = fc.anything({ key, maxDepth: 3, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withNullPrototype: true, withSparseArray: true, withBoxedValues: true });

/** Text of every kind: short, long (around the 512 limit), unicode, lone surrogates, prototype names. */
const text = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.integer({ min: 500, max: 20_000 }).map((n) => 'é'.repeat(n)),
  fc.constantFrom('', ' ', '\u0000', '\ud800', ...PROTO_KEYS),
);
/** A value of the wrong type for any field. */
const wrong = fc.oneof(fc.constantFrom(null, undefined, true, 0, -1, Number.NaN, Infinity, 1.5, [], {}, new Date(Number.NaN)), fc.integer(), fc.double(), fc.array(fc.string(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const time = fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.constantFrom(-1, 2 ** 53, Number.MAX_SAFE_INTEGER, 1.5), fc.date({ noInvalidDate: false }));

/** A request with every field either of its right type or of a wrong one, some left out. */
const almostRequest = fc.record(
  {
    id: fc.oneof(text, wrong),
    episode: fc.oneof(text, wrong),
    model: fc.oneof(fc.constant(null), fc.record({ name: fc.oneof(text, wrong), version: fc.oneof(text, wrong) }, { requiredKeys: [] }), wrong, text),
    requestedAt: fc.oneof(time, wrong, text),
    reasons: fc.oneof(fc.array(fc.oneof(text, wrong), { maxLength: 40 }), wrong),
    topology: text,
    reason: text,
    windows: fc.oneof(fc.constant([]), wrong),
  },
  { requiredKeys: [] },
);

test('random JSON values give a bounded request or RETRAIN_REQUEST_INVALID', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => parses(value)),
    { seed: 0x5eed_c001, numRuns: 500 },
  );
});

test('arbitrary values (dates, big integers, maps, null-prototype objects) give a request or RETRAIN_REQUEST_INVALID', () => {
  fc.assert(
    fc.property(anyValue, (value) => parses(value)),
    { seed: 0x5eed_c002, numRuns: 500 },
  );
  assertPrototypeClean();
});

test('records shaped almost like a request (wrong types, huge or unicode text) give a bounded request or RETRAIN_REQUEST_INVALID', () => {
  fc.assert(
    fc.property(almostRequest, (value) => {
      parses(value);
      // The same record as it arrives from a topic: JSON text parsed again.
      parses(JSON.parse(JSON.stringify(value)) as unknown);
    }),
    { seed: 0x5eed_c003, numRuns: 1000 },
  );
});

test('JSON text with `__proto__` and `constructor` keys parses without touching Object.prototype', () => {
  fc.assert(
    fc.property(almostRequest, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }), (value, name, payload) => {
      // JSON.stringify drops a `__proto__` own key of a literal; writing it into the text keeps it, as a producer could.
      const json = JSON.stringify(value).replace(/^\{/, `{${JSON.stringify(name)}:${JSON.stringify({ polluted: payload })},`).replace(/,}$/, '}');
      parses(JSON.parse(json) as unknown);
      parses({ model: JSON.parse(`{"${name}": {"polluted": 1}, "name": "m", "version": "1"}`) as unknown, id: 'r', requestedAt: 1 });
    }),
    { seed: 0x5eed_c004, numRuns: 300 },
  );
  assertPrototypeClean();
});

/** A valid RetrainRequest (the v3 superset; older versions write the fields they have). */
const avroRequest = fc.record({
  id: fc.string({ maxLength: 30 }),
  topology: fc.string({ maxLength: 10 }),
  node: fc.string({ maxLength: 10 }),
  model: fc.option(fc.record({ name: fc.string({ minLength: 1, maxLength: 10 }), version: fc.string({ minLength: 1, maxLength: 4 }) }), { nil: null }),
  reason: fc.string({ maxLength: 10 }),
  reasons: fc.array(fc.string({ maxLength: 10 }), { maxLength: 4 }),
  episode: fc.string({ maxLength: 30 }),
  requestedAt: fc.integer({ min: 0, max: 2 ** 45 }),
  windows: fc.array(
    fc.record({
      kind: fc.constantFrom('time', 'count'),
      start: fc.integer({ min: 0, max: 2 ** 40 }),
      end: fc.integer({ min: 0, max: 2 ** 40 }),
      inputs: fc.nat(),
      shareOfDriftedColumns: fc.option(fc.double({ noNaN: true }), { nil: null }),
      labelled: fc.option(fc.nat(), { nil: null }),
      accuracy: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
    }),
    { maxLength: 3 },
  ),
  driftedFeatures: fc.array(fc.record({ name: fc.string({ maxLength: 8 }), method: fc.constantFrom('psi', 'ks'), score: fc.double({ noNaN: true }), threshold: fc.double({ noNaN: true }) }), { maxLength: 3 }),
  embeddingScore: fc.option(fc.double({ noNaN: true }), { nil: null }),
  baselineAccuracy: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
});

function framed(id: number, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeInt32BE(id, 1);
  return Buffer.concat([header, body]);
}

/** One change to the body: a byte set, bytes cut, inserted or removed, or a 10-byte count claiming 2^62 items. */
const mutation = fc.record({ op: fc.constantFrom('set', 'truncate', 'insert', 'delete', 'count'), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }), extra: fc.uint8Array({ minLength: 1, maxLength: 6 }) });
const HUGE_COUNT = Buffer.from([0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);

function mutate(b: Buffer, m: { op: string; at: number; value: number; extra: Uint8Array }): Buffer {
  const i = 5 + (m.at % Math.max(1, b.length - 4));
  if (m.op === 'set' && i < b.length) return Buffer.concat([b.subarray(0, i), Buffer.from([m.value]), b.subarray(i + 1)]);
  if (m.op === 'truncate') return b.subarray(0, i);
  if (m.op === 'insert') return Buffer.concat([b.subarray(0, i), m.extra, b.subarray(i)]);
  if (m.op === 'delete') return Buffer.concat([b.subarray(0, i), b.subarray(i + m.extra.length)]);
  if (m.op === 'count') return Buffer.concat([b.subarray(0, i), HUGE_COUNT, b.subarray(i + 1)]);
  return b;
}

async function decodesAndParses(bytes: Buffer): Promise<void> {
  let parsed: RetrainRequestRecord | undefined;
  await typedOutcome(async () => (parsed = parseRetrainRequest(await codec.decode(bytes))), AVRO_CODES, () => describe(bytes));
  if (parsed !== undefined) assertBounded(parsed, bytes);
}

test('a valid Avro RetrainRequest of each version decodes and parses (its episode defaulting to its id in v1 and v2)', async () => {
  await fc.assert(
    fc.asyncProperty(avroRequest, fc.constantFrom(1, 2, 3), async (request, version) => {
      fc.pre(request.id.length > 0 && request.id.length <= 512 && request.episode.length > 0);
      const parsed = parseRetrainRequest(await codec.decode(framed(version, types.get(version)!.toBuffer(request))));
      assert.equal(parsed.id, request.id);
      assert.equal(parsed.episode, version === 3 ? request.episode : request.id);
      assert.equal(parsed.requestedAt, request.requestedAt);
    }),
    { seed: 0x5eed_c005, numRuns: 150 },
  );
});

test('mutated Avro RetrainRequests (and random bodies) decode and parse, or fail with a typed error, quickly', async () => {
  await fc.assert(
    fc.asyncProperty(avroRequest, fc.constantFrom(1, 2, 3), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.uint8Array({ maxLength: 64 }), async (request, version, mutations, random) => {
      await decodesAndParses(mutations.reduce(mutate, framed(version, types.get(version)!.toBuffer(request))));
      await decodesAndParses(framed(version, Buffer.from(random)));
    }),
    { seed: 0x5eed_c006, numRuns: 500 },
  );
  assertPrototypeClean();
});
