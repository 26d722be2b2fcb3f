/**
 * Tensor elements to and from the protocol's raw form: little-endian, row-major bytes, as the
 * binary tensor data extension (HTTP) and `raw_input_contents` / `raw_output_contents` (gRPC)
 * carry them; and outputs from JSON `data` arrays or gRPC typed contents, for servers that answer
 * that way.
 */
import { endianness } from 'node:os';
import { CentaurError } from '../../core/errors.js';
import { fromFloat16Array, toFloat16Array } from './fp16.js';
import type { InferInput, OutputData } from './types.js';

interface ElementType {
  readonly bytes: number;
  readonly make: (buffer: ArrayBuffer) => OutputData;
  readonly from: (values: number[]) => OutputData;
}

const big = (values: number[]): bigint[] => values.map((v) => BigInt(v));

/** Fixed-size datatypes: element size and the typed array that holds them (FP16 → Float32Array). */
const ELEMENT_TYPES: Readonly<Record<string, ElementType>> = {
  BOOL: { bytes: 1, make: (b) => new Uint8Array(b), from: (v) => Uint8Array.from(v, (x) => (x ? 1 : 0)) },
  UINT8: { bytes: 1, make: (b) => new Uint8Array(b), from: (v) => Uint8Array.from(v) },
  UINT16: { bytes: 2, make: (b) => new Uint16Array(b), from: (v) => Uint16Array.from(v) },
  UINT32: { bytes: 4, make: (b) => new Uint32Array(b), from: (v) => Uint32Array.from(v) },
  UINT64: { bytes: 8, make: (b) => new BigUint64Array(b), from: (v) => BigUint64Array.from(big(v)) },
  INT8: { bytes: 1, make: (b) => new Int8Array(b), from: (v) => Int8Array.from(v) },
  INT16: { bytes: 2, make: (b) => new Int16Array(b), from: (v) => Int16Array.from(v) },
  INT32: { bytes: 4, make: (b) => new Int32Array(b), from: (v) => Int32Array.from(v) },
  INT64: { bytes: 8, make: (b) => new BigInt64Array(b), from: (v) => BigInt64Array.from(big(v)) },
  FP16: { bytes: 2, make: (b) => fromFloat16Array(new Uint16Array(b)), from: (v) => Float32Array.from(v) },
  FP32: { bytes: 4, make: (b) => new Float32Array(b), from: (v) => Float32Array.from(v) },
  FP64: { bytes: 8, make: (b) => new Float64Array(b), from: (v) => Float64Array.from(v) },
};

const LITTLE_ENDIAN = endianness() === 'LE';

/** Elements in a tensor of this shape. */
export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/**
 * The raw bytes of one input (a view, not a copy, except FP16 from float32, which is converted).
 * Throws INTERNAL when the typed array does not fit the datatype or the shape: a caller's bug.
 */
export function inputBytes(input: InferInput): Buffer {
  if (!LITTLE_ENDIAN) throw new CentaurError('INTERNAL', 'the KServe v2 client needs a little-endian host');
  const count = elementCount(input.shape);
  if (input.shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new CentaurError('INTERNAL', `input \`${input.name}\` has shape [${input.shape.join(', ')}]; dimensions must be whole numbers`);
  }
  if (input.data.length !== count) {
    throw new CentaurError(
      'INTERNAL',
      `input \`${input.name}\` holds ${input.data.length} elements, its shape [${input.shape.join(', ')}] needs ${count}`,
    );
  }
  const { data } = input;
  const fits =
    (input.datatype === 'FP32' && data instanceof Float32Array) ||
    (input.datatype === 'UINT8' && data instanceof Uint8Array) ||
    (input.datatype === 'FP16' && (data instanceof Float32Array || data instanceof Uint16Array));
  if (!fits) throw new CentaurError('INTERNAL', `input \`${input.name}\` is ${input.datatype} but its data is a ${data.constructor.name}`);
  const raw = input.datatype === 'FP16' && data instanceof Float32Array ? toFloat16Array(data) : data;
  return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
}

/** An output's typed array from its raw bytes (copied, so it is aligned and owned). */
export function outputFromBytes(name: string, datatype: string, shape: readonly number[], bytes: Uint8Array): OutputData {
  const type = elementType(name, datatype);
  const expected = elementCount(shape) * type.bytes;
  if (bytes.byteLength !== expected) {
    throw badOutput(`output \`${name}\` has ${bytes.byteLength} bytes; ${datatype} of shape [${shape.join(', ')}] needs ${expected}`);
  }
  const copy = new ArrayBuffer(expected);
  new Uint8Array(copy).set(bytes);
  return type.make(copy);
}

/** An output's typed array from JSON `data` (flat or nested, row-major), or from gRPC typed contents. */
export function outputFromValues(name: string, datatype: string, shape: readonly number[], values: readonly unknown[]): OutputData {
  const type = elementType(name, datatype);
  const flat: unknown[] = [];
  flatten(values, flat);
  if (flat.length !== elementCount(shape)) {
    throw badOutput(`output \`${name}\` has ${flat.length} values; shape [${shape.join(', ')}] needs ${elementCount(shape)}`);
  }
  // Number() reads JSON numbers, booleans (BOOL) and the strings some servers use for 64-bit integers.
  return type.from(flat.map((v) => Number(v)));
}

/** Appends the leaves of nested arrays, row-major. */
function flatten(values: readonly unknown[], into: unknown[]): void {
  for (const value of values) {
    if (Array.isArray(value)) flatten(value, into);
    else into.push(value);
  }
}

function elementType(name: string, datatype: string): ElementType {
  const type = ELEMENT_TYPES[datatype];
  if (type === undefined) throw badOutput(`output \`${name}\` is ${datatype}, which the client cannot read (BYTES and unknown types)`);
  return type;
}

function badOutput(message: string): CentaurError {
  return new CentaurError('INFERENCE_FAILED', message, { retriable: false });
}
