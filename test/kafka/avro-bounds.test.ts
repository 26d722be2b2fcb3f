/**
 * The check of an Avro body against its writer schema before avsc decodes it: every valid record of
 * the built-in schemas passes (a seeded property); counts the bytes cannot hold, lengths past the end, unknown union
 * branches and enum symbols are refused without being read; items that take no bytes are capped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import fc from 'fast-check';
import { checkAvroBody } from '../../src/kafka/avro-bounds.js';
import { BUILTIN_SCHEMAS } from '../../src/kafka/schema-registry.js';

const AVRO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'avro');
const type = (schema: unknown): avro.Type => avro.Type.forSchema(schema as avro.Schema);
/** A zig-zag varint. */
const long = (n: number): Buffer => type('long').toBuffer(n);

/** Values of an avsc type, drawn by fast-check (seeded, unlike avsc's own `random()`). */
function valueOf(t: avro.Type, depth = 0): fc.Arbitrary<unknown> {
  const u = t as avro.Type & { itemsType?: avro.Type; valuesType?: avro.Type; types?: avro.Type[]; symbols?: string[]; size?: number; fields?: { name: string; type: avro.Type }[]; underlyingType?: avro.Type };
  switch (t.typeName) {
    case 'null':
      return fc.constant(null);
    case 'boolean':
      return fc.boolean();
    case 'int':
      return fc.integer();
    case 'long':
      return fc.integer({ min: -(2 ** 52), max: 2 ** 52 });
    case 'float':
    case 'double':
      return fc.double();
    case 'string':
      return fc.string({ maxLength: 12 });
    case 'bytes':
      return fc.uint8Array({ maxLength: 12 }).map((a) => Buffer.from(a));
    case 'fixed':
      return fc.uint8Array({ minLength: u.size ?? 0, maxLength: u.size ?? 0 }).map((a) => Buffer.from(a));
    case 'enum':
      return fc.constantFrom(...(u.symbols ?? []));
    case 'array':
      return fc.array(valueOf(u.itemsType!, depth + 1), { maxLength: depth > 2 ? 0 : 3 });
    case 'map':
      return fc.dictionary(fc.string({ maxLength: 6 }), valueOf(u.valuesType!, depth + 1), { maxKeys: depth > 2 ? 0 : 3 });
    case 'union:unwrapped':
      return fc.oneof(...(u.types ?? []).map((b) => valueOf(b, depth + 1)));
    case 'record':
      return fc.record(Object.fromEntries((u.fields ?? []).map((f) => [f.name, valueOf(f.type, depth + 1)])));
    default:
      return valueOf(u.underlyingType!, depth);
  }
}

test('every record of the built-in schemas passes, and decodes as before', () => {
  for (const name of BUILTIN_SCHEMAS) {
    const t = type(JSON.parse(readFileSync(path.join(AVRO_DIR, `${name}.avsc`), 'utf8')));
    fc.assert(
      fc.property(valueOf(t), (record) => {
        const body = t.toBuffer(record);
        checkAvroBody(t, body);
        t.fromBuffer(body);
      }),
      { seed: 0x5eed_e001, numRuns: 50 },
    );
  }
});

test('a map or array count larger than the bytes left is refused before any item is read', () => {
  const map = type({ type: 'map', values: 'string' });
  assert.throws(() => checkAvroBody(map, long(2 ** 40)), /claims 1099511627776 items, but 0 bytes are left/);
  assert.throws(() => checkAvroBody(map, Buffer.concat([long(-(2 ** 40)), long(4)])), /claims/); // a negative count, with a block size
  const array = type({ type: 'array', items: 'double' });
  assert.throws(() => checkAvroBody(array, Buffer.concat([long(2), Buffer.alloc(15)])), /claims 2 items, but 15 bytes are left/);
  assert.doesNotThrow(() => checkAvroBody(array, array.toBuffer([1, 2])));
});

test('lengths past the end, negative lengths, unknown union branches and enum symbols are refused', () => {
  assert.throws(() => checkAvroBody(type('bytes'), Buffer.concat([long(2 ** 31), Buffer.from('ab')])), /truncated: a bytes of 2147483648 bytes/);
  assert.throws(() => checkAvroBody(type('string'), long(-3)), /negative length/);
  assert.throws(() => checkAvroBody(type(['null', 'string']), long(2)), /union index 2 names no branch/);
  assert.throws(() => checkAvroBody(type({ type: 'enum', name: 'E', symbols: ['A'] }), long(1)), /enum index 1/);
  assert.throws(() => checkAvroBody(type('long'), Buffer.from([0x80, 0x80])), /truncated/);
  assert.throws(() => checkAvroBody(type('long'), Buffer.alloc(11, 0xff)), /longer than 10 bytes/);
});

test('items that take no bytes (null, empty records) are allowed up to about a million, in all blocks together', () => {
  const nulls = type({ type: 'array', items: 'null' });
  assert.doesNotThrow(() => checkAvroBody(nulls, nulls.toBuffer(new Array(1000).fill(null))));
  assert.throws(() => checkAvroBody(nulls, Buffer.concat([long(2 ** 21), long(0)])), /items that take no bytes/);
  assert.throws(() => checkAvroBody(nulls, Buffer.concat([long(2 ** 19), long(2 ** 19), long(2 ** 19), long(0)])), /items that take no bytes/);
});

test('recursive schemas and logical types are followed; a schema that is not an avsc type is left unchecked', () => {
  const list = type({ type: 'record', name: 'Node', fields: [{ name: 'value', type: 'int' }, { name: 'next', type: ['null', 'Node'] }] });
  assert.doesNotThrow(() => checkAvroBody(list, list.toBuffer({ value: 1, next: { value: 2, next: null } })));
  assert.throws(() => checkAvroBody(list, Buffer.from([2, 2, 4])), /truncated/);
  const time = type({ type: 'long', logicalType: 'timestamp-millis' });
  assert.doesNotThrow(() => checkAvroBody(time, long(1_700_000_000_000)));
  assert.doesNotThrow(() => checkAvroBody({ some: 'protobuf schema' }, Buffer.from([1, 2, 3])));
  assert.doesNotThrow(() => checkAvroBody(undefined, Buffer.alloc(0)));
});
