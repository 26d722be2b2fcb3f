/**
 * The bytes of the gRPC client's `ModelInfer` requests, which carry megabytes of tensor data (a
 * batch of 32 224×224×3 float32 images is 19.3 MB). The .proto's encoder (protobufjs) writes the
 * small fields (model, id, the inputs' names, datatypes and shapes, the requested outputs); each
 * tensor is then copied once, straight into its place after them, into a buffer that is reused
 * from call to call. Encoding the whole message with protobufjs instead copies the tensors into a
 * new buffer each time, and a new 19 MB buffer per call costs page faults and, as V8 counts it as
 * external memory, a major garbage collection every call or two.
 *
 * Appending `raw_input_contents` (field 7) after the other fields is ordinary protobuf: a message's
 * fields may come in any order, and each occurrence of a repeated field adds one element. Answers
 * are read by the .proto's decoder, which already returns `raw_output_contents` as views of the
 * received bytes. The client asks for 5 bytes more than the message and has grpc-unary.ts write the
 * gRPC frame's prefix there, so the bytes go to the socket with no further copy.
 */
import type { ModelInferRequestMessage } from './proto.js';

/** `raw_input_contents`: field 7, length-delimited (wire type 2). */
const RAW_INPUT_TAG = (7 << 3) | 2;

/** Request buffers of this size or more are worth keeping for the next request. */
const KEEP_FROM_BYTES = 1 << 20;

/**
 * Buffers for request bytes, kept between calls. A buffer is given back once its call has ended
 * (every attempt): its streams are closed, and nothing reads it any more. Keeps at most
 * `keep` free buffers, the largest; requests under 1 MiB are not kept.
 */
export class RequestBuffers {
  private readonly free: Buffer[] = [];

  constructor(private readonly keep = 2) {}

  /** A buffer of exactly `size` bytes: a view of a kept buffer that is large enough, else a new one. */
  readonly take = (size: number): Buffer => {
    if (size < KEEP_FROM_BYTES) return Buffer.allocUnsafe(size);
    const index = this.free.findIndex((buffer) => buffer.length >= size);
    // allocUnsafeSlow: a buffer of its own (never Node's shared pool), so the whole of it can be kept.
    const buffer = index < 0 ? Buffer.allocUnsafeSlow(size) : (this.free.splice(index, 1)[0] as Buffer);
    return buffer.subarray(0, size);
  };

  /** Takes back a buffer from `take` whose call has ended; keeps it if it is among the largest. */
  give(view: Buffer): void {
    if (view.length < KEEP_FROM_BYTES || this.keep < 1) return;
    const whole = Buffer.from(view.buffer, 0, view.buffer.byteLength);
    if (this.free.length >= this.keep) {
      const smallest = this.free.reduce((min, buffer, i) => (buffer.length < (this.free[min] as Buffer).length ? i : min), 0);
      if ((this.free[smallest] as Buffer).length >= whole.length) return;
      this.free.splice(smallest, 1);
    }
    this.free.push(whole);
  }

  /** Bytes held in free buffers. */
  get keptBytes(): number {
    return this.free.reduce((sum, buffer) => sum + buffer.length, 0);
  }
}

/**
 * Encodes a `ModelInferRequest`: `encode` (the .proto's encoder) writes every field but
 * `raw_input_contents`, whose entries follow in input order, each tensor copied once, in a buffer
 * from `allocate` (a new one by default).
 */
export function encodeModelInferRequest(
  message: ModelInferRequestMessage,
  encode: (message: ModelInferRequestMessage) => Buffer,
  allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafe(size),
): Buffer {
  const head = encode({ ...message, raw_input_contents: [] });
  let size = head.length;
  for (const raw of message.raw_input_contents) size += 1 + varintSize(raw.byteLength) + raw.byteLength;
  const out = allocate(size);
  out.set(head, 0);
  let at = head.length;
  for (const raw of message.raw_input_contents) {
    out[at] = RAW_INPUT_TAG;
    at = writeVarint(out, at + 1, raw.byteLength);
    out.set(raw, at);
    at += raw.byteLength;
  }
  return out;
}

/** Bytes of a length (a non-negative integer below 2^53) as a varint. */
function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size += 1;
  return size;
}

/** Writes a length as a varint at `at`; returns where it ends. */
function writeVarint(out: Buffer, at: number, value: number): number {
  let v = value;
  let pos = at;
  while (v >= 0x80) {
    out[pos] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
    pos += 1;
  }
  out[pos] = v;
  return pos + 1;
}
