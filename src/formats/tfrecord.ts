/**
 * TFRecord files of `tf.train.Example` records, as TensorFlow's `TFRecordDataset` reads them.
 *
 * A record is framed as: the data length (uint64, little-endian), the masked CRC32C of those 8
 * bytes (uint32 LE), the data, the masked CRC32C of the data (uint32 LE). TensorFlow masks a CRC
 * as `((crc >>> 15) | (crc << 17)) + 0xa282ead8` (mod 2^32) so that a CRC of data that holds CRCs
 * stays well distributed. A file is records back to back; gzip of the whole file is what
 * `compression_type='GZIP'` reads.
 *
 * A record's data is a `tf.train.Example` (see `example.proto` beside this file: TensorFlow's
 * field numbers), encoded with protobufjs's Writer: floats are written as one packed run of
 * little-endian float32s copied from a Float32Array, so a 224×224×3 tensor costs one copy, not
 * 150 528 calls. CRC32C comes from `@node-rs/crc32` (SSE4.2 / ARM CRC instructions where the CPU
 * has them). Both load with this module, which components import only inside `create()`.
 */
import { endianness } from 'node:os';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import protobuf from 'protobufjs/minimal.js';
import { CentaurError } from '../core/errors.js';

/** One feature's values: a BytesList, a packed FloatList or a packed Int64List. */
export type Feature =
  | { readonly kind: 'bytes'; readonly values: readonly (Uint8Array | string)[] }
  | { readonly kind: 'float'; readonly values: Float32Array | readonly number[] }
  | { readonly kind: 'int64'; readonly values: readonly number[] };

/** A `tf.train.Features` map: feature name → values. */
export type Features = Readonly<Record<string, Feature>>;

/** A BytesList feature; strings are written as UTF-8. */
export function bytesFeature(...values: (Uint8Array | string)[]): Feature {
  return { kind: 'bytes', values };
}

/** A FloatList feature (float32; numbers are rounded to float32). */
export function floatFeature(values: Float32Array | readonly number[]): Feature {
  return { kind: 'float', values };
}

/** An Int64List feature; each value must be a safe integer. */
export function int64Feature(...values: number[]): Feature {
  return { kind: 'int64', values };
}

/** Length-delimited field `n` (wire type 2). */
const field = (n: number): number => (n << 3) | 2;
const LITTLE_ENDIAN = endianness() === 'LE';

/** Encodes a `tf.train.Example` holding `features` (in their insertion order). */
export function encodeExample(features: Features): Uint8Array {
  const w = protobuf.Writer.create();
  w.uint32(field(1)).fork(); // Example.features
  for (const [name, feature] of Object.entries(features)) {
    w.uint32(field(1)).fork(); // Features.feature: one map entry
    w.uint32(field(1)).string(name); // entry key
    w.uint32(field(2)).fork(); // entry value: Feature
    switch (feature.kind) {
      case 'bytes':
        w.uint32(field(1)).fork(); // Feature.bytes_list
        for (const v of feature.values) w.uint32(field(1)).bytes(typeof v === 'string' ? Buffer.from(v, 'utf8') : v);
        w.ldelim();
        break;
      case 'float': {
        w.uint32(field(2)).fork(); // Feature.float_list
        if (feature.values.length > 0) w.uint32(field(1)).bytes(float32Bytes(feature.values)); // packed value
        w.ldelim();
        break;
      }
      case 'int64':
        w.uint32(field(3)).fork(); // Feature.int64_list
        if (feature.values.length > 0) {
          w.uint32(field(1)).fork(); // packed value
          for (const v of feature.values) {
            if (!Number.isSafeInteger(v)) throw new CentaurError('INTERNAL', `tf.train.Example feature \`${name}\`: ${v} is not a safe integer`);
            w.int64(v);
          }
          w.ldelim();
        }
        w.ldelim();
        break;
    }
    w.ldelim();
    w.ldelim();
  }
  w.ldelim();
  return w.finish();
}

/** The little-endian float32 bytes of `values` (a view of a Float32Array's memory on little-endian hosts). */
function float32Bytes(values: Float32Array | readonly number[]): Uint8Array {
  const floats = values instanceof Float32Array ? values : Float32Array.from(values);
  if (LITTLE_ENDIAN) return new Uint8Array(floats.buffer, floats.byteOffset, floats.byteLength);
  const out = new Uint8Array(floats.length * 4);
  const view = new DataView(out.buffer);
  floats.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return out;
}

/** CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit number. */
export function crc32c(data: Uint8Array): number {
  return nativeCrc32c(data) >>> 0;
}

/** TensorFlow's CRC mask: rotate right by 15 bits, add 0xa282ead8 (mod 2^32). */
export function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** The masked CRC-32C TFRecord stores after a record's length and after its data. */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32c(data));
}

/** Bytes TFRecord framing adds to each record (length, its CRC, the data's CRC). */
export const RECORD_OVERHEAD_BYTES = 16;

/** Frames one record: length, masked CRC of the length, data, masked CRC of the data. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(data.length + RECORD_OVERHEAD_BYTES);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}

/**
 * The records of a whole (uncompressed) TFRecord file, as views into it, in order. Checks both
 * CRCs of every record; a truncated file or a CRC that does not match throws INPUT_READ_FAILED
 * naming the record's index and byte offset.
 */
export function* readRecords(file: Uint8Array): Generator<Buffer> {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  let offset = 0;
  for (let index = 0; offset < buf.length; index += 1) {
    const fail = (what: string): CentaurError => new CentaurError('INPUT_READ_FAILED', `TFRecord record ${index} at byte ${offset}: ${what}`);
    if (offset + 12 > buf.length) throw fail('truncated header');
    const length = buf.readBigUInt64LE(offset);
    if (buf.readUInt32LE(offset + 8) !== maskedCrc32c(buf.subarray(offset, offset + 8))) throw fail('length CRC does not match');
    const end = offset + 12 + Number(length);
    if (length > BigInt(buf.length) || end + 4 > buf.length) throw fail(`truncated data (${length} bytes announced)`);
    const data = buf.subarray(offset + 12, end);
    if (buf.readUInt32LE(end) !== maskedCrc32c(data)) throw fail('data CRC does not match');
    yield data;
    offset = end + 4;
  }
}
