/**
 * `centaur publish-images`: sends the images of a folder to a Kafka topic as camera frames —
 * Avro `CameraFrame` records (registered under `<topic>-value`) or raw bytes with `id`, `label`
 * and `capture-time` headers — so a Kafka topology can be tried and measured without cameras.
 * Labels come from parent folder names (`horses/` → `horse`), as `files-source` reads them.
 * Requests are bounded by bytes, under the broker's default message limit (1 MB), so camera-sized
 * frames go out in as many requests as they need; a frame that alone is over the limit stops the
 * command with its size and the limit, and any failure says how many frames went out before it —
 * unless a claim check is given: then such a frame is stored in the lake (content-addressed) and an
 * `ImageUpload` reference to it goes to the uploads topic, for `fetch-object` to read.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { KafkaClientName, KafkaOutputMessage } from '../kafka/client.js';
import { connectionSettings } from '../kafka/connection.js';
import { createClientFactory } from '../kafka/client-factory.js';
import { AvroRegistryCodec, readAvroSchema } from '../kafka/schema-registry.js';
import { ImageArchive, imageKind } from '../storage/image-archive.js';
import type { ObjectStore } from '../storage/object-store.js';
import { storeFor } from '../storage/store-for.js';

export interface PublishOptions {
  readonly dir: string;
  readonly brokers: string;
  readonly topic: string;
  readonly format: 'avro' | 'bytes';
  readonly registry?: string;
  readonly cameras: number;
  readonly client: KafkaClientName;
  /** Most bytes of messages in one produce request (default {@link DEFAULT_MAX_REQUEST_BYTES}). */
  readonly maxRequestBytes?: number;
  /** Frames over the limit go to the lake, and a reference to the uploads topic (the claim-check pattern). */
  readonly claimCheck?: ClaimCheck;
}

/** Where frames too large for a message go, and where their references go. */
export interface ClaimCheck {
  /** Base URI of the stored frames: `s3://bucket/prefix`, `azure://account/container/prefix`, `file:///dir`. */
  readonly store: string;
  /** Topic of the `ImageUpload` references (Avro `ImageUpload` with `--format avro`, else its JSON). */
  readonly topic: string;
  /** An S3-compatible server's URL for `s3://` (path-style addressing). */
  readonly s3Endpoint?: string;
}

/** What was published: frames in messages, and frames sent by reference. */
export interface Published {
  readonly frames: number;
  readonly references: number;
}

/**
 * Bytes of messages per request by default: under Kafka's default `message.max.bytes` (1,048,588)
 * and the clients' 1 MiB request limit, with room for the record batch framing.
 */
export const DEFAULT_MAX_REQUEST_BYTES = 900_000;
/** Messages per request at most, whatever their size. */
const MAX_REQUEST_MESSAGES = 500;
/** What a message costs in a record batch besides its key, value and headers (varints, attributes). */
const RECORD_OVERHEAD = 64;

/** A message's size as it counts against the request limit. */
function messageBytes(m: KafkaOutputMessage): number {
  let bytes = RECORD_OVERHEAD + (m.key?.length ?? 0) + (m.value?.length ?? 0);
  for (const [name, value] of Object.entries(m.headers ?? {})) bytes += name.length + String(value).length + 8;
  return bytes;
}

/** Folder names that are plural class names map to the class (`horses` → `horse`). */
function labelOf(file: string): string {
  const folder = path.basename(path.dirname(file));
  return folder.endsWith('s') ? folder.slice(0, -1) : folder;
}

/** Publishes every image under `dir` (sorted) and resolves with the counts. */
export async function publishImages(o: PublishOptions, logger: Logger): Promise<Published> {
  const files = (await glob('**/*.{jpg,jpeg,png,webp,JPG,JPEG,PNG,WEBP}', { cwd: o.dir, absolute: true })).sort();
  if (files.length === 0) throw new CentaurError('CONFIG_INVALID', `no images under ${o.dir}`);
  if (o.format === 'avro' && o.registry === undefined) throw new CentaurError('CONFIG_INVALID', '--format avro needs --registry <url>');
  let encode: ((record: Record<string, unknown>) => Promise<Buffer>) | undefined;
  if (o.format === 'avro') {
    const codec = await AvroRegistryCodec.create({ url: o.registry as string });
    const id = await codec.register(`${o.topic}-value`, await readAvroSchema('camera-frame', '.'));
    encode = (record) => codec.encode(id, record);
  }
  let claim: { store: () => ObjectStore | undefined; reference: (image: Buffer, frameId: string, label: string, cameraId: string) => Promise<KafkaOutputMessage> } | undefined;
  if (o.claimCheck !== undefined) {
    const c = o.claimCheck;
    let encodeUpload: ((record: Record<string, unknown>) => Promise<Buffer>) | undefined;
    if (o.format === 'avro') {
      const codec = await AvroRegistryCodec.create({ url: o.registry as string });
      const id = await codec.register(`${c.topic}-value`, await readAvroSchema('image-upload', '.'));
      encodeUpload = (record) => codec.encode(id, record);
    }
    // The store is opened with the first frame that needs it, inside the send loop that closes it.
    let store: ObjectStore | undefined;
    let archive: ImageArchive | undefined;
    claim = {
      store: () => store,
      reference: async (image, frameId, label, cameraId) => {
        store ??= await storeFor(c.store, c.s3Endpoint === undefined ? {} : { s3: { endpoint: c.s3Endpoint, forcePathStyle: true } });
        archive ??= new ImageArchive(store, c.store.replace(/\/+$/, ''));
        const stored = await archive.archive(image);
        const record = { uploadId: frameId, uri: stored.uri, uploader: `publish-images/${cameraId}`, uploadTime: Date.now(), contentType: imageKind(image).contentType, sizeBytes: image.length, metadata: { frameId, label, cameraId } };
        const value = encodeUpload === undefined ? Buffer.from(JSON.stringify(record)) : await encodeUpload(record);
        // Keyed by the upload id, as ImageUpload's schema has it.
        return { key: frameId, value, headers: { label } };
      },
    };
  }
  const connection = connectionSettings(
    { brokers: [o.brokers], client: o.client, ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 30000 },
    'publish',
    'images',
  );
  const producer = (await createClientFactory(connection, logger)).producer({ compression: 'none', idempotent: true, allowAutoTopicCreation: true });
  const limit = o.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  /** The frame's message, and what its reference would be when the message is too large. */
  const messageOf = async (file: string, i: number): Promise<{ message: KafkaOutputMessage; reference: () => Promise<KafkaOutputMessage> }> => {
    const image = await readFile(file);
    const cameraId = `cam-${i % o.cameras}`;
    const frameId = path.relative(o.dir, file);
    const captureTime = Date.now();
    const label = labelOf(file);
    const reference = (): Promise<KafkaOutputMessage> => (claim as NonNullable<typeof claim>).reference(image, frameId, label, cameraId);
    if (encode !== undefined) {
      const value = await encode({ cameraId, frameId, captureTime, image, contentType: null, metadata: {} });
      return { message: { key: cameraId, value, headers: { label } }, reference };
    }
    return { message: { key: cameraId, value: image, headers: { id: frameId, label, 'capture-time': String(captureTime) } }, reference };
  };
  let sent = 0;
  let references = 0;
  await producer.connect();
  try {
    let batch: KafkaOutputMessage[] = [];
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      await producer.send(o.topic, batch);
      sent += batch.length;
      batch = [];
      bytes = 0;
    };
    // Read ahead a few files while the previous request is in flight.
    const ahead = 16;
    const reads = new Map<number, Promise<{ message: KafkaOutputMessage; reference: () => Promise<KafkaOutputMessage> }>>();
    for (let i = 0; i < files.length; i += 1) {
      for (let j = i; j < Math.min(files.length, i + ahead); j += 1) {
        if (reads.has(j)) continue;
        const read = messageOf(files[j]!, j);
        // Handled here so a failed read ahead is not an unhandled rejection; awaited in its turn.
        read.catch(() => undefined);
        reads.set(j, read);
      }
      const { message, reference } = await reads.get(i)!;
      reads.delete(i);
      const size = messageBytes(message);
      if (size > limit && claim !== undefined) {
        // The claim check: the frame goes to the lake, its reference to the uploads topic (once stored).
        const ref = await reference();
        await producer.send((o.claimCheck as ClaimCheck).topic, [ref]);
        references += 1;
        continue;
      }
      if (size > limit) {
        // What came before it goes out: the error then says exactly where a retry would resume.
        await flush();
        throw new CentaurError(
          'CONFIG_INVALID',
          `${path.relative(o.dir, files[i]!)} makes a message of ${size} bytes, over the limit of ${limit} per request (the broker's message.max.bytes is 1,048,588 by default): give --claim-check <lake URI> to store frames this large in the lake and send ImageUpload references that \`fetch-object\` reads, or raise the broker's limit and --max-request-bytes`,
        );
      }
      if (bytes + size > limit || batch.length >= MAX_REQUEST_MESSAGES) await flush();
      batch.push(message);
      bytes += size;
    }
    await flush();
  } catch (error) {
    const e = error instanceof CentaurError ? error : new CentaurError('INTERNAL', (error as Error).message, { cause: error });
    throw new CentaurError(e.code, `${sent + references} of ${files.length} frames were sent before this${references > 0 ? ` (${references} by reference)` : ''}: ${e.message}`, { cause: error });
  } finally {
    await producer.close();
    await claim?.store()?.close();
  }
  return { frames: sent, references };
}
