/**
 * The byte layout of Feast's Redis online store, so that rows written here are read by a Feast
 * feature repository's `get_online_features` as if Feast had written them itself.
 *
 * One Redis hash per entity: its key is the serialized entity key (entity key serialization
 * version 3, Feast's default) followed by the project name in UTF-8. Its fields are the 4-byte
 * little-endian MurmurHash3 (x86, 32-bit, seed 0) of `<feature view>:<feature>`, each holding a
 * serialized `feast.types.Value`, plus `_ts:<feature view>` holding the row's event time as a
 * serialized `google.protobuf.Timestamp`.
 *
 * Protobuf encoding uses protobufjs with the few messages needed declared here (field numbers as
 * in Feast's `Value.proto` and Google's `timestamp.proto`); the hash is the `murmurhash` package.
 */
import protobuf from 'protobufjs';
import murmurhash from 'murmurhash';

/** Feast names (projects, feature views, join keys): letters, digits and underscores, not starting with a digit. */
export const FEAST_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';

/** Feast's `ValueType.Enum` numbers for the entity value types written here. */
const VALUE_TYPE_STRING = 2;

/** The messages, as a protobufjs JSON descriptor (proto3: repeated scalars are packed). */
const root = protobuf.Root.fromJSON({
  nested: {
    feast: {
      nested: {
        types: {
          nested: {
            FloatList: { fields: { val: { rule: 'repeated', type: 'float', id: 1 } } },
            DoubleList: { fields: { val: { rule: 'repeated', type: 'double', id: 1 } } },
            StringList: { fields: { val: { rule: 'repeated', type: 'string', id: 1 } } },
            Value: {
              oneofs: { val: { oneof: ['bytes_val', 'string_val', 'int32_val', 'int64_val', 'double_val', 'float_val', 'bool_val', 'string_list_val', 'double_list_val', 'float_list_val'] } },
              fields: {
                bytes_val: { type: 'bytes', id: 1 },
                string_val: { type: 'string', id: 2 },
                int32_val: { type: 'int32', id: 3 },
                int64_val: { type: 'int64', id: 4 },
                double_val: { type: 'double', id: 5 },
                float_val: { type: 'float', id: 6 },
                bool_val: { type: 'bool', id: 7 },
                string_list_val: { type: 'StringList', id: 12 },
                double_list_val: { type: 'DoubleList', id: 15 },
                float_list_val: { type: 'FloatList', id: 16 },
              },
            },
          },
        },
      },
    },
    google: {
      nested: {
        protobuf: {
          nested: {
            Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
          },
        },
      },
    },
  },
});
root.setOptions({ syntax: 'proto3' });
const ValueMessage = root.lookupType('feast.types.Value');
const TimestampMessage = root.lookupType('google.protobuf.Timestamp');

/** One feature value, tagged with its Feast type. */
export type FeastValue =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'bytes'; readonly value: Uint8Array }
  | { readonly type: 'int32'; readonly value: number }
  | { readonly type: 'int64'; readonly value: number }
  | { readonly type: 'float32'; readonly value: number }
  | { readonly type: 'float64'; readonly value: number }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string-list'; readonly value: readonly string[] }
  | { readonly type: 'float64-list'; readonly value: readonly number[] | Float64Array }
  | { readonly type: 'float32-list'; readonly value: readonly number[] | Float32Array };

/** A 32-bit little-endian unsigned integer. */
function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(n >>> 0, 0);
  return b;
}

/**
 * Feast's `serialize_entity_key` (version 3) for one join key with a string value: number of
 * keys, then per key its type, length and UTF-8 name, then per value its type, length and bytes.
 */
export function serializeEntityKey(joinKey: string, value: string): Buffer {
  const name = Buffer.from(joinKey, 'utf8');
  const bytes = Buffer.from(value, 'utf8');
  return Buffer.concat([u32(1), u32(VALUE_TYPE_STRING), u32(name.length), name, u32(VALUE_TYPE_STRING), u32(bytes.length), bytes]);
}

/** The Redis key of one entity's row: the serialized entity key followed by the project name. */
export function feastRedisKey(project: string, joinKey: string, value: string): Buffer {
  return Buffer.concat([serializeEntityKey(joinKey, value), Buffer.from(project, 'utf8')]);
}

/** The hash field of a feature: MurmurHash3 (x86, 32-bit, seed 0) of `<view>:<feature>` in UTF-8, as 4 little-endian bytes. */
export function feastFeatureField(featureView: string, feature: string): Buffer {
  return u32(murmurhash.v3(Buffer.from(`${featureView}:${feature}`, 'utf8'), 0));
}

/** The hash field holding a row's event time. */
export function feastTimestampField(featureView: string): string {
  return `_ts:${featureView}`;
}

/** Serializes a value as `feast.types.Value`. */
export function encodeFeastValue(v: FeastValue): Uint8Array {
  let message: Record<string, unknown>;
  switch (v.type) {
    case 'string':
      message = { string_val: v.value };
      break;
    case 'bytes':
      message = { bytes_val: v.value };
      break;
    case 'int32':
      message = { int32_val: v.value };
      break;
    case 'int64':
      message = { int64_val: v.value };
      break;
    case 'float32':
      message = { float_val: v.value };
      break;
    case 'float64':
      message = { double_val: v.value };
      break;
    case 'bool':
      message = { bool_val: v.value };
      break;
    case 'string-list':
      message = { string_list_val: { val: v.value } };
      break;
    case 'float64-list':
      message = { double_list_val: { val: v.value } };
      break;
    case 'float32-list':
      // A typed array is written as it is (packed), without a copy into a plain array.
      message = { float_list_val: { val: v.value } };
      break;
  }
  return ValueMessage.encode(message).finish();
}

/** Serializes a time in milliseconds since the epoch (fractions kept to the nanosecond) as `google.protobuf.Timestamp`. */
export function encodeTimestamp(ms: number): Uint8Array {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1_000_000));
  return TimestampMessage.encode({ seconds, nanos }).finish();
}

/** One entity's row for a feature view: the Redis key and the hash fields to set. */
export interface FeastRow {
  readonly key: Buffer;
  /** Field name and serialized value pairs, the timestamp field last. */
  readonly fields: readonly (readonly [Buffer | string, Uint8Array])[];
}

/** Where rows go: the project, the feature view and the entity's join key. */
export interface FeastTarget {
  readonly project: string;
  readonly featureView: string;
  readonly joinKey: string;
}

/** Builds one entity's row in Feast's Redis layout. */
export function feastRow(target: FeastTarget, entityValue: string, features: Readonly<Record<string, FeastValue>>, eventTimeMs: number): FeastRow {
  const fields: (readonly [Buffer | string, Uint8Array])[] = Object.entries(features).map(([name, value]) => [feastFeatureField(target.featureView, name), encodeFeastValue(value)] as const);
  fields.push([feastTimestampField(target.featureView), encodeTimestamp(eventTimeMs)]);
  return { key: feastRedisKey(target.project, target.joinKey, entityValue), fields };
}

/** A decoded `feast.types.Value`: a string, a number, a boolean, bytes, a list, or null when unset. */
export type FeastDecoded = string | number | boolean | Uint8Array | Float32Array | readonly number[] | readonly string[] | null;

/** Reads a serialized `feast.types.Value` back; why: the training-set join reads the rows `feature-store-sink` wrote. */
export function decodeFeastValue(bytes: Uint8Array): FeastDecoded {
  const message = ValueMessage.toObject(ValueMessage.decode(bytes), { longs: Number, bytes: Uint8Array, oneofs: true }) as Record<string, unknown> & { val?: string };
  const field = message.val;
  if (field === undefined) return null;
  const value = message[field];
  if (field === 'float_list_val') return Float32Array.from(((value as { val?: number[] }).val ?? []));
  if (field.endsWith('_list_val')) return ((value as { val?: unknown[] }).val ?? []) as readonly number[] | readonly string[];
  return value as string | number | boolean | Uint8Array;
}

/** Reads a serialized `google.protobuf.Timestamp` as milliseconds since the epoch. */
export function decodeTimestamp(bytes: Uint8Array): number {
  const t = TimestampMessage.toObject(TimestampMessage.decode(bytes), { longs: Number }) as { seconds?: number; nanos?: number };
  return (t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1_000_000;
}
