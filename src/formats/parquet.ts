/**
 * The one place that encodes Parquet files. Rows (plain objects keyed by column name) are checked
 * against a small column schema, laid out as Apache Arrow columns (`apache-arrow`), and written
 * as one Parquet file by the Rust Parquet writer compiled to WebAssembly (`parquet-wasm`), which
 * also stores the Arrow schema in the file so pyarrow, pandas, Spark and DuckDB read back exactly
 * the types written here. Both libraries load on the first call, so a topology that writes no
 * Parquet never loads them.
 *
 * Column types and how they are stored:
 * - `string` → UTF8 (Arrow `utf8`); `binary` → BYTE_ARRAY (Arrow `binary`), from a Uint8Array.
 * - `int32`, `int64` (number or bigint), `float32`, `float64`, `boolean` → the Parquet types of
 *   the same name.
 * - `timestamp-ms` → INT64 TIMESTAMP(MILLIS, isAdjustedToUTC) (Arrow `timestamp[ms, tz=UTC]`,
 *   pandas `datetime64[ms, UTC]`), from epoch milliseconds or a Date.
 * - `float32-list` → a LIST of FLOAT (Arrow `list<item: float>`), from a Float32Array or number[].
 * - `string-list` → a LIST of UTF8 (Arrow `list<item: string>`), from a string[].
 * - `timestamp-ms-list` → a LIST of TIMESTAMP(MILLIS, UTC), from an array of epoch milliseconds.
 *
 * The whole file is built in memory (an object store takes whole objects anyway); the WebAssembly
 * heap grows to about four times the largest file's uncompressed size and keeps that size.
 */
import type * as ArrowModule from 'apache-arrow';
import type * as ParquetWasmModule from 'parquet-wasm';
import { CentaurError } from '../core/errors.js';

/** The value types a Parquet column may hold. */
export type ParquetColumnType =
  | 'string'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'boolean'
  | 'timestamp-ms'
  | 'float32-list'
  | 'string-list'
  | 'timestamp-ms-list'
  | 'binary';

/** One column: its name, type, and whether rows may lack a value (null or undefined). */
export interface ParquetColumn {
  readonly name: string;
  readonly type: ParquetColumnType;
  readonly nullable?: boolean;
}

/** How the file is written. */
export interface ParquetWriteOptions {
  /** Page compression; `zstd` by default. */
  readonly compression?: 'zstd' | 'snappy' | 'none';
  /** Most rows in one row group; by default every row of a file up to 1,048,576 rows. */
  readonly rowGroupSize?: number;
}

type Arrow = typeof ArrowModule;
type ParquetWasm = typeof ParquetWasmModule;

let libraries: Promise<{ arrow: Arrow; parquet: ParquetWasm }> | undefined;

/** Loads both libraries once, on first use (again on the next call if loading failed). */
function load(): Promise<{ arrow: Arrow; parquet: ParquetWasm }> {
  libraries ??= Promise.all([import('apache-arrow'), import('parquet-wasm')]).then(
    ([arrow, parquet]) => ({ arrow, parquet }),
    (error: unknown) => {
      libraries = undefined;
      throw new CentaurError('INTERNAL', `cannot load the Parquet writer (apache-arrow, parquet-wasm): ${(error as Error).message}`, { cause: error });
    },
  );
  return libraries;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_ROW_GROUP = 1_048_576;

/** What each column type accepts, for checks and error messages. */
const ACCEPTS: Readonly<Record<ParquetColumnType, { readonly expected: string; readonly ok: (v: unknown) => boolean }>> = {
  string: { expected: 'a string', ok: (v) => typeof v === 'string' },
  int32: { expected: 'an integer number within int32', ok: (v) => typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647 },
  int64: {
    expected: 'an integer number or bigint within int64',
    ok: (v) => (typeof v === 'bigint' && v >= INT64_MIN && v <= INT64_MAX) || (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 63),
  },
  float32: { expected: 'a number', ok: (v) => typeof v === 'number' },
  float64: { expected: 'a number', ok: (v) => typeof v === 'number' },
  boolean: { expected: 'a boolean', ok: (v) => typeof v === 'boolean' },
  'timestamp-ms': {
    expected: 'epoch milliseconds (a finite number) or a valid Date',
    ok: (v) => (typeof v === 'number' && Number.isFinite(v)) || (v instanceof Date && Number.isFinite(v.getTime())),
  },
  'float32-list': { expected: 'a Float32Array or an array of numbers', ok: (v) => v instanceof Float32Array || (Array.isArray(v) && v.every((x) => typeof x === 'number')) },
  binary: { expected: 'a Uint8Array', ok: (v) => v instanceof Uint8Array },
  'string-list': { expected: 'an array of strings', ok: (v) => Array.isArray(v) && v.every((x) => typeof x === 'string') },
  'timestamp-ms-list': { expected: 'an array of epoch milliseconds', ok: (v) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x)) },
};

/** Throws the error `encodeParquet` would for this row (a value of the wrong type, or a required value missing), so a bad row can be refused alone before it joins a file. */
export function checkParquetRow(columns: readonly ParquetColumn[], row: Readonly<Record<string, unknown>>, index?: number): void {
  for (const column of columns) {
    const v = row[column.name];
    if (v === null || v === undefined) {
      if (column.nullable !== true) throw wrongValue(column, index, 'a value (the column is not nullable)', v);
    } else if (!ACCEPTS[column.type].ok(v)) {
      throw wrongValue(column, index, ACCEPTS[column.type].expected, v);
    }
  }
}

/**
 * An estimate of the bytes a row adds to a file before compression: 1 per boolean, 4 or 8 per
 * number, 8 per timestamp, 4 + the length of each string (UTF-8) or byte array, 4 per embedding
 * float plus 4, and 1 per column for its definition level. Files are rolled on it; the file
 * written is usually smaller (compressed) and has a few kilobytes of footer.
 */
export function estimateParquetRowBytes(columns: readonly ParquetColumn[], row: Readonly<Record<string, unknown>>): number {
  let bytes = 0;
  for (const column of columns) {
    bytes += 1;
    const v = row[column.name];
    if (v === null || v === undefined) continue;
    switch (column.type) {
      case 'string':
        bytes += 4 + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
        break;
      case 'binary':
        bytes += 4 + (v instanceof Uint8Array ? v.length : 0);
        break;
      case 'float32-list':
        bytes += 4 + 4 * (v instanceof Float32Array || Array.isArray(v) ? v.length : 0);
        break;
      case 'string-list':
        bytes += 4 + (Array.isArray(v) ? v.reduce((sum: number, x: unknown) => sum + 4 + (typeof x === 'string' ? Buffer.byteLength(x) : 0), 0) : 0);
        break;
      case 'timestamp-ms-list':
        bytes += 4 + 8 * (Array.isArray(v) ? v.length : 0);
        break;
      case 'boolean':
        bytes += 1;
        break;
      case 'int32':
      case 'float32':
        bytes += 4;
        break;
      default:
        bytes += 8;
    }
  }
  return bytes;
}

/** Encodes rows (objects keyed by column name; null/undefined for missing values of nullable columns) as one Parquet file. */
export async function encodeParquet(
  columns: readonly ParquetColumn[],
  rows: readonly Readonly<Record<string, unknown>>[],
  options: ParquetWriteOptions = {},
): Promise<Uint8Array> {
  checkColumns(columns);
  const rowGroupSize = options.rowGroupSize ?? MAX_ROW_GROUP;
  if (!Number.isInteger(rowGroupSize) || rowGroupSize < 1) {
    throw new CentaurError('INTERNAL', `Parquet rowGroupSize must be a positive integer, not ${String(rowGroupSize)}.`);
  }
  const { arrow, parquet } = await load();
  const fields = columns.map((c) => new arrow.Field(c.name, arrowType(arrow, c.type), c.nullable === true));
  const children = columns.map((c, i) => columnData(arrow, c, fields[i] as InstanceType<Arrow['Field']>, rows));
  const schema = new arrow.Schema(fields);
  const struct = arrow.makeData({ type: new arrow.Struct(fields), length: rows.length, nullCount: 0, children });
  const table = new arrow.Table(schema, [new arrow.RecordBatch(schema, struct)]);
  const ipc = arrow.tableToIPC(table, 'stream');
  const compression = { zstd: parquet.Compression.ZSTD, snappy: parquet.Compression.SNAPPY, none: parquet.Compression.UNCOMPRESSED }[options.compression ?? 'zstd'];
  const properties = new parquet.WriterPropertiesBuilder().setCompression(compression).setMaxRowGroupSize(rowGroupSize).setCreatedBy('centaur').build();
  return parquet.writeParquet(parquet.Table.fromIPCStream(ipc), properties);
}

/** Rejects an empty schema, duplicate or empty names and unknown types (programmer errors). */
function checkColumns(columns: readonly ParquetColumn[]): void {
  if (columns.length === 0) throw new CentaurError('INTERNAL', 'A Parquet file needs at least one column.');
  const seen = new Set<string>();
  for (const c of columns) {
    if (c.name === '' || seen.has(c.name)) throw new CentaurError('INTERNAL', `Parquet column names must be unique and not empty: \`${c.name}\`.`);
    if (!Object.hasOwn(ACCEPTS, c.type)) throw new CentaurError('INTERNAL', `Parquet column \`${c.name}\` has an unknown type \`${String(c.type)}\`.`);
    seen.add(c.name);
  }
}

/** The Arrow type a column is laid out as. */
function arrowType(arrow: Arrow, type: ParquetColumnType): InstanceType<Arrow['DataType']> {
  switch (type) {
    case 'string':
      return new arrow.Utf8();
    case 'binary':
      return new arrow.Binary();
    case 'int32':
      return new arrow.Int32();
    case 'int64':
      return new arrow.Int64();
    case 'float32':
      return new arrow.Float32();
    case 'float64':
      return new arrow.Float64();
    case 'boolean':
      return new arrow.Bool();
    case 'timestamp-ms':
      return new arrow.TimestampMillisecond('UTC');
    case 'float32-list':
      return new arrow.List(new arrow.Field('item', new arrow.Float32(), true));
    case 'string-list':
      return new arrow.List(new arrow.Field('item', new arrow.Utf8(), true));
    case 'timestamp-ms-list':
      return new arrow.List(new arrow.Field('item', new arrow.TimestampMillisecond('UTC'), true));
  }
}

/** A value that does not fit its column: a data error naming the column and the row. */
function wrongValue(column: ParquetColumn, row: number | undefined, expected: string, value: unknown): CentaurError {
  const got = describe(value);
  return new CentaurError('OUTPUT_ENCODE_FAILED', `Parquet column \`${column.name}\` (${column.type}${column.nullable === true ? ', nullable' : ''})${row === undefined ? '' : `, row ${row}`}: expected ${expected}, got ${got}.`);
}

/** A short description of a value for an error message. */
function describe(value: unknown): string {
  if (value === null || value === undefined) return 'no value';
  if (typeof value === 'object') return value.constructor?.name ?? 'object';
  if (typeof value === 'string') return `string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}

/** Validity bits of a column, filled as values are read. */
class Validity {
  readonly bits: Uint8Array;
  nulls = 0;
  constructor(length: number) {
    this.bits = new Uint8Array((length + 7) >> 3);
  }
  set(i: number): void {
    this.bits[i >> 3] = (this.bits[i >> 3] as number) | (1 << (i & 7));
  }
}

/** Lays out one column's values as Arrow data, checking each value's type. */
function columnData(arrow: Arrow, column: ParquetColumn, field: InstanceType<Arrow['Field']>, rows: readonly Readonly<Record<string, unknown>>[]) {
  const n = rows.length;
  const validity = new Validity(n);
  const nullable = column.nullable === true;
  const accepts = ACCEPTS[column.type];
  /** The row's value once checked, or undefined for a missing value of a nullable column (marked null). */
  const valueAt = (i: number): unknown => {
    const v = (rows[i] as Readonly<Record<string, unknown>>)[column.name];
    if (v === null || v === undefined) {
      if (!nullable) throw wrongValue(column, i, 'a value (the column is not nullable)', v);
      validity.nulls += 1;
      return undefined;
    }
    if (!accepts.ok(v)) throw wrongValue(column, i, accepts.expected, v);
    validity.set(i);
    return v;
  };
  const base = { length: n };
  const withNulls = () => ({ nullCount: validity.nulls, nullBitmap: validity.bits });
  switch (column.type) {
    case 'int32': {
      const data = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = valueAt(i) as number | undefined;
        if (v !== undefined) data[i] = v;
      }
      return arrow.makeData({ type: field.type as InstanceType<Arrow['Int32']>, ...base, data, ...withNulls() });
    }
    case 'int64': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = valueAt(i) as number | bigint | undefined;
        if (v !== undefined) data[i] = BigInt(v);
      }
      return arrow.makeData({ type: field.type as InstanceType<Arrow['Int64']>, ...base, data, ...withNulls() });
    }
    case 'float32':
    case 'float64': {
      const data = column.type === 'float32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = valueAt(i) as number | undefined;
        if (v !== undefined) data[i] = v;
      }
      return arrow.makeData({ type: field.type as InstanceType<Arrow['Float']>, ...base, data, ...withNulls() });
    }
    case 'boolean': {
      const data = new Uint8Array((n + 7) >> 3);
      for (let i = 0; i < n; i++) {
        if (valueAt(i) === true) data[i >> 3] = (data[i >> 3] as number) | (1 << (i & 7));
      }
      return arrow.makeData({ type: field.type as InstanceType<Arrow['Bool']>, ...base, data, ...withNulls() });
    }
    case 'timestamp-ms': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const v = valueAt(i) as number | Date | undefined;
        if (v !== undefined) data[i] = BigInt(Math.floor(typeof v === 'number' ? v : v.getTime()));
      }
      return arrow.makeData({ type: field.type as InstanceType<Arrow['TimestampMillisecond']>, ...base, data, ...withNulls() });
    }
    case 'string':
    case 'binary': {
      const encoder = new TextEncoder();
      const chunks: Uint8Array[] = new Array<Uint8Array>(n);
      const valueOffsets = new Int32Array(n + 1);
      const empty = new Uint8Array(0);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = valueAt(i) as string | Uint8Array | undefined;
        const bytes = v === undefined ? empty : typeof v === 'string' ? encoder.encode(v) : v;
        chunks[i] = bytes;
        total += bytes.length;
        if (total > 2147483647) throw new CentaurError('OUTPUT_ENCODE_FAILED', `Parquet column \`${column.name}\` holds more than 2 GiB in one file; write smaller files.`);
        valueOffsets[i + 1] = total;
      }
      const data = new Uint8Array(total);
      for (let i = 0; i < n; i++) data.set(chunks[i] as Uint8Array, valueOffsets[i]);
      return arrow.makeData({ type: field.type as InstanceType<Arrow['Utf8']>, ...base, valueOffsets, data, ...withNulls() });
    }
    case 'float32-list': {
      const lists: ArrayLike<number>[] = new Array<ArrayLike<number>>(n);
      const valueOffsets = new Int32Array(n + 1);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const list = (valueAt(i) as Float32Array | number[] | undefined) ?? [];
        lists[i] = list;
        total += list.length;
        valueOffsets[i + 1] = total;
      }
      const values = new Float32Array(total);
      for (let i = 0; i < n; i++) values.set(lists[i] as ArrayLike<number>, valueOffsets[i]);
      const listType = field.type as InstanceType<Arrow['List']>;
      const child = arrow.makeData({ type: listType.children[0]?.type as InstanceType<Arrow['Float32']>, length: total, nullCount: 0, data: values });
      return arrow.makeData({ type: listType, ...base, valueOffsets, child, ...withNulls() });
    }
    case 'timestamp-ms-list': {
      const lists: number[][] = new Array<number[]>(n);
      const valueOffsets = new Int32Array(n + 1);
      let total = 0;
      for (let i = 0; i < n; i++) {
        const list = (valueAt(i) as number[] | undefined) ?? [];
        lists[i] = list;
        total += list.length;
        valueOffsets[i + 1] = total;
      }
      const values = new BigInt64Array(total);
      for (let i = 0; i < n; i++) (lists[i] as number[]).forEach((t, j) => (values[(valueOffsets[i] as number) + j] = BigInt(Math.floor(t))));
      const listType = field.type as InstanceType<Arrow['List']>;
      const child = arrow.makeData({ type: listType.children[0]?.type as InstanceType<Arrow['TimestampMillisecond']>, length: total, nullCount: 0, data: values });
      return arrow.makeData({ type: listType, ...base, valueOffsets, child, ...withNulls() });
    }
    case 'string-list': {
      const encoder = new TextEncoder();
      const valueOffsets = new Int32Array(n + 1);
      const strings: Uint8Array[] = [];
      const stringOffsets: number[] = [0];
      let bytes = 0;
      for (let i = 0; i < n; i++) {
        const list = (valueAt(i) as string[] | undefined) ?? [];
        for (const text of list) {
          const encoded = encoder.encode(text);
          strings.push(encoded);
          bytes += encoded.length;
          if (bytes > 2147483647) throw new CentaurError('OUTPUT_ENCODE_FAILED', `Parquet column \`${column.name}\` holds more than 2 GiB in one file; write smaller files.`);
          stringOffsets.push(bytes);
        }
        valueOffsets[i + 1] = strings.length;
      }
      const data = new Uint8Array(bytes);
      strings.forEach((encoded, j) => data.set(encoded, stringOffsets[j]));
      const listType = field.type as InstanceType<Arrow['List']>;
      const child = arrow.makeData({ type: listType.children[0]?.type as InstanceType<Arrow['Utf8']>, length: strings.length, nullCount: 0, valueOffsets: Int32Array.from(stringOffsets), data });
      return arrow.makeData({ type: listType, ...base, valueOffsets, child, ...withNulls() });
    }
  }
}

/** One row read back: column name to a plain value (see `decodeParquet`). */
export type DecodedRow = Record<string, unknown>;

/**
 * Reads a Parquet file back into plain rows; why: a table kept in the lake (the training set) is
 * read, merged and written again. Values come back as `encodeParquet` takes them: strings, numbers
 * (int64 as a number), booleans, timestamps as epoch milliseconds, float lists as Float32Array,
 * other lists as arrays, binary as Uint8Array, null for missing values.
 */
export async function decodeParquet(bytes: Uint8Array): Promise<DecodedRow[]> {
  const { arrow, parquet } = await load();
  let table: InstanceType<Arrow['Table']>;
  try {
    const wasmTable = parquet.readParquet(bytes);
    table = arrow.tableFromIPC(wasmTable.intoIPCStream());
  } catch (error) {
    throw new CentaurError('INPUT_READ_FAILED', `not a readable Parquet file: ${String((error as Error).message ?? error)}`, { cause: error });
  }
  const fields = table.schema.fields;
  const vectors = fields.map((f) => table.getChild(f.name));
  const rows: DecodedRow[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row: DecodedRow = {};
    fields.forEach((field, c) => {
      row[field.name] = plainValue(arrow, field.type as InstanceType<Arrow['DataType']>, vectors[c]?.get(i));
    });
    rows.push(row);
  }
  return rows;
}

/** An Arrow cell as a plain value. */
function plainValue(arrow: Arrow, type: InstanceType<Arrow['DataType']>, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'bigint') return Number(value);
  if (arrow.DataType.isList(type)) {
    const child = (type as InstanceType<Arrow['List']>).children[0]?.type as InstanceType<Arrow['DataType']> | undefined;
    const items = [...(value as Iterable<unknown>)];
    if (child !== undefined && arrow.DataType.isFloat(child) && child.precision === arrow.Precision.SINGLE) return Float32Array.from(items as number[]);
    return items.map((x) => (child === undefined ? x : plainValue(arrow, child, x)));
  }
  if (value instanceof Date) return value.getTime();
  return value;
}
