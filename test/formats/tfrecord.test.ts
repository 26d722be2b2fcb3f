/**
 * The TFRecord format: CRC-32C against published check values, TensorFlow's CRC mask against an
 * independent (BigInt) computation, record framing byte by byte and round trip with corruption
 * detected, and `tf.train.Example` encoding decoded back by protobufjs from `example.proto`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import protobuf from 'protobufjs';
import { CentaurError } from '../../src/core/errors.js';
import { bytesFeature, crc32c, encodeExample, floatFeature, frameRecord, int64Feature, maskCrc, maskedCrc32c, readRecords } from '../../src/formats/tfrecord.js';

const root = protobuf.loadSync(path.resolve('src/formats/example.proto'));
const Example = root.lookupType('tensorflow.Example');

interface DecodedFeature {
  bytesList?: { value: Uint8Array[] };
  floatList?: { value: number[] };
  int64List?: { value: number[] };
}

/** Decodes an Example with protobufjs's reflection (not our writer) into plain values. */
function decode(bytes: Uint8Array): Record<string, DecodedFeature> {
  const message = Example.decode(bytes);
  const plain = Example.toObject(message, { longs: Number, bytes: Buffer, defaults: false, arrays: true }) as { features?: { feature?: Record<string, DecodedFeature> } };
  return plain.features?.feature ?? {};
}

test('crc32c: the published check values (RFC 3720 B.4, "123456789")', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
});

test('maskCrc: rotate right 15, add 0xa282ead8, modulo 2^32 (checked with BigInt arithmetic)', () => {
  const reference = (crc: number): number => {
    const c = BigInt(crc);
    const rotated = ((c >> 15n) | (c << 17n)) & 0xffffffffn;
    return Number((rotated + 0xa282ead8n) & 0xffffffffn);
  };
  for (const crc of [0, 1, 0x7fff, 0x8000, 0xe3069283, 0xffffffff, 0x5d7a2f10, 0x80000000]) assert.equal(maskCrc(crc), reference(crc), `crc ${crc.toString(16)}`);
  assert.equal(maskCrc(0), 0xa282ead8);
  assert.equal(maskedCrc32c(Buffer.from('123456789')), reference(0xe3069283));
});

test('frameRecord: uint64 LE length, masked CRC of the length, data, masked CRC of the data', () => {
  const data = Buffer.from('hello, tfrecord');
  const framed = frameRecord(data);
  assert.equal(framed.length, data.length + 16);
  assert.equal(framed.readBigUInt64LE(0), BigInt(data.length));
  assert.equal(framed.readUInt32LE(8), maskCrc(crc32c(framed.subarray(0, 8))));
  assert.deepEqual(framed.subarray(12, 12 + data.length), data);
  assert.equal(framed.readUInt32LE(12 + data.length), maskCrc(crc32c(data)));

  const empty = frameRecord(new Uint8Array(0));
  assert.deepEqual(empty.subarray(0, 8), Buffer.alloc(8));
  assert.equal(empty.readUInt32LE(8), maskCrc(crc32c(new Uint8Array(8))));
  assert.equal(empty.readUInt32LE(12), 0xa282ead8, 'the masked CRC of no data is the mask itself');
});

test('readRecords: records framed back to back come back in order; a flipped byte or a cut file is refused', () => {
  const records = [Buffer.from('a'), Buffer.alloc(0), Buffer.from('third record'), Buffer.alloc(70_000, 7)];
  const file = Buffer.concat(records.map(frameRecord));
  assert.deepEqual([...readRecords(file)], records);
  assert.deepEqual([...readRecords(new Uint8Array(0))], []);

  const corrupt = (offset: number): Buffer => {
    const copy = Buffer.from(file);
    copy[offset] = (copy[offset] as number) ^ 0x01;
    return copy;
  };
  const secondAt = records[0]!.length + 16;
  const thirdAt = secondAt + 16;
  const expectError = (bytes: Buffer, message: RegExp): void =>
    assert.throws(() => [...readRecords(bytes)], (error: unknown) => error instanceof CentaurError && error.code === 'INPUT_READ_FAILED' && message.test(error.message));
  expectError(corrupt(thirdAt + 12 + 3), /record 2 at byte 33: data CRC does not match/);
  expectError(corrupt(thirdAt), /record 2 at byte 33: length CRC does not match/);
  expectError(corrupt(thirdAt + 9), /length CRC does not match/);
  expectError(corrupt(file.length - 1), /record 3 .*data CRC does not match/);
  expectError(file.subarray(0, file.length - 5), /record 3 .*truncated data/);
  expectError(file.subarray(0, thirdAt + 6), /record 2 .*truncated header/);
});

test('encodeExample: bytes, packed floats and packed int64s decode with TensorFlow’s message definitions', () => {
  const floats = new Float32Array([0, 1.5, -2.25, 1 / 3, 3.4e38]);
  const encoded = encodeExample({
    'image/encoded': bytesFeature(Buffer.from([0xff, 0xd8, 0xff, 0x00])),
    'image/id': bytesFeature('horses/é-1.jpg'),
    several: bytesFeature('a', new Uint8Array([1, 2]), ''),
    'image/tensor': floatFeature(floats),
    rounded: floatFeature([0.1, 2]),
    'image/shape': int64Feature(224, 224, 3),
    big: int64Feature(-1, 0, 2 ** 40, Number.MAX_SAFE_INTEGER),
    none: floatFeature([]),
    noInts: int64Feature(),
  });
  const decoded = decode(encoded);
  assert.deepEqual(Object.keys(decoded).sort(), ['big', 'image/encoded', 'image/id', 'image/shape', 'image/tensor', 'noInts', 'none', 'rounded', 'several'].sort());
  assert.deepEqual(decoded['image/encoded']?.bytesList?.value, [Buffer.from([0xff, 0xd8, 0xff, 0x00])]);
  assert.equal(Buffer.from(decoded['image/id']?.bytesList?.value[0] ?? []).toString('utf8'), 'horses/é-1.jpg');
  assert.deepEqual(decoded.several?.bytesList?.value.map((v) => [...v]), [[0x61], [1, 2], []]);
  assert.deepEqual(decoded['image/tensor']?.floatList?.value, [...floats]);
  assert.deepEqual(decoded.rounded?.floatList?.value, [Math.fround(0.1), 2]);
  assert.deepEqual(decoded['image/shape']?.int64List?.value, [224, 224, 3]);
  assert.deepEqual(decoded.big?.int64List?.value, [-1, 0, 2 ** 40, Number.MAX_SAFE_INTEGER]);
  assert.deepEqual(decoded.none?.floatList?.value ?? [], []);
  assert.ok(decoded.none?.floatList !== undefined, 'an empty FloatList is still a float feature');
  assert.ok(decoded.noInts?.int64List !== undefined, 'an empty Int64List is still an int64 feature');
});

test('encodeExample: the exact bytes of a one-feature Example (packed Int64List)', () => {
  // Example{features: Features{feature: {"a": Feature{int64_list: Int64List{value: [1]}}}}}
  const expected = [0x0a, 0x0c, 0x0a, 0x0a, 0x0a, 0x01, 0x61, 0x12, 0x05, 0x1a, 0x03, 0x0a, 0x01, 0x01];
  assert.deepEqual([...encodeExample({ a: int64Feature(1) })], expected);
  // A packed FloatList: field 1, wire type 2, 8 bytes of little-endian float32.
  const floats = encodeExample({ f: floatFeature([1, -2]) });
  assert.deepEqual([...floats.subarray(floats.length - 10)], [0x0a, 0x08, 0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0]);
});

test('encodeExample: an int64 outside the safe integer range is refused', () => {
  assert.throws(() => encodeExample({ n: int64Feature(2 ** 53) }), (error: unknown) => error instanceof CentaurError && error.code === 'INTERNAL' && /not a safe integer/.test(error.message));
  assert.throws(() => encodeExample({ n: int64Feature(1.5) }), /not a safe integer/);
});
