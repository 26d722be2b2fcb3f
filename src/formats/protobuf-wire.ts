/**
 * Protobuf at the wire level: a message as its list of fields (number, wire type, byte span), and
 * a rewrite that replaces or drops chosen fields and copies every other byte as it was. Editing a
 * large message this way (an ONNX model of millions of weights) changes only what it must: no
 * schema is needed for the untouched parts, and unknown fields survive.
 */
import protobuf from 'protobufjs/minimal.js';
import { CentaurError } from '../core/errors.js';

/** Wire type of length-delimited fields (bytes, strings, sub-messages, packed repeats). */
export const LENGTH_DELIMITED = 2;

/** One field occurrence of a message. */
export interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** Where the field starts (its tag) and ends in the message's bytes. */
  readonly start: number;
  readonly end: number;
  /** A length-delimited field's payload; for other wire types the encoded value without its tag. */
  readonly value: Uint8Array;
}

/** The fields of one message, in order; CONFIG_INVALID when the bytes are not a protobuf message. */
export function wireFields(bytes: Uint8Array): WireField[] {
  const reader = protobuf.Reader.create(bytes);
  const fields: WireField[] = [];
  try {
    while (reader.pos < reader.len) {
      const start = reader.pos;
      const tag = reader.uint32();
      const field = tag >>> 3;
      const wireType = tag & 7;
      if (field === 0) throw new Error(`field number 0 at byte ${start}`);
      if (wireType === LENGTH_DELIMITED) {
        const length = reader.uint32();
        const from = reader.pos;
        reader.skip(length);
        fields.push({ field, wireType, start, end: reader.pos, value: bytes.subarray(from, reader.pos) });
      } else {
        const from = reader.pos;
        reader.skipType(wireType);
        fields.push({ field, wireType, start, end: reader.pos, value: bytes.subarray(from, reader.pos) });
      }
    }
  } catch (error) {
    throw new CentaurError('CONFIG_INVALID', `not a protobuf message: ${(error as Error).message}`, { cause: error });
  }
  return fields;
}

/** A length-delimited field's payload as UTF-8 text. */
export function wireString(field: WireField): string {
  return Buffer.from(field.value.buffer, field.value.byteOffset, field.value.byteLength).toString('utf8');
}

/** A 64-bit integer as protobufjs reads it (a number, or low and high words without the long package). */
function toNumber(long: number | protobuf.Long): number {
  return typeof long === 'number' ? long : long.high * 0x1_0000_0000 + (long.low >>> 0);
}

/** A varint field's value (int32/int64/enum; large int64 values lose precision past 2^53). */
export function wireVarint(field: WireField): number {
  return toNumber(protobuf.Reader.create(field.value).int64());
}

/** The values of a repeated int64 field, packed or not. */
export function wireInt64s(fields: readonly WireField[], number: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== number) continue;
    if (f.wireType === LENGTH_DELIMITED) {
      const reader = protobuf.Reader.create(f.value);
      while (reader.pos < reader.len) {
        out.push(toNumber(reader.int64()));
      }
    } else out.push(wireVarint(f));
  }
  return out;
}

/**
 * The message with some fields rewritten: `edit` returns the new payload of a length-delimited
 * field, `null` to drop the field, or undefined to keep its bytes as they were. `append` adds
 * encoded fields at the end.
 */
export function rewriteFields(bytes: Uint8Array, edit: (field: WireField, index: number) => Uint8Array | null | undefined, append: readonly Uint8Array[] = []): Uint8Array {
  const parts: Uint8Array[] = [];
  wireFields(bytes).forEach((f, i) => {
    const replaced = edit(f, i);
    if (replaced === undefined) parts.push(bytes.subarray(f.start, f.end));
    else if (replaced !== null) parts.push(encodeBytesField(f.field, replaced));
  });
  parts.push(...append);
  return Buffer.concat(parts);
}

/** A length-delimited field (tag, length, payload). */
export function encodeBytesField(field: number, payload: Uint8Array): Uint8Array {
  return protobuf.Writer.create().uint32((field << 3) | LENGTH_DELIMITED).bytes(payload).finish();
}
