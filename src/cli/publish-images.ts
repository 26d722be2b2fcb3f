/**
 * `centaur publish-images`: sends the images of a folder to a Kafka topic as camera frames —
 * Avro `CameraFrame` records (registered under `<topic>-value`) or raw bytes with `id`, `label`
 * and `capture-time` headers — so a Kafka topology can be tried and measured without cameras.
 * Labels come from parent folder names (`horses/` → `horse`), as `files-source` reads them.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { glob } from 'tinyglobby';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { KafkaOutputMessage } from '../kafka/client.js';
import { connectionSettings } from '../kafka/connection.js';
import { createClientFactory } from '../kafka/client-factory.js';
import { AvroRegistryCodec, readAvroSchema } from '../kafka/schema-registry.js';

export interface PublishOptions {
  readonly dir: string;
  readonly brokers: string;
  readonly topic: string;
  readonly format: 'avro' | 'bytes';
  readonly registry?: string;
  readonly cameras: number;
  readonly client: 'kafkajs' | 'node-rdkafka';
}

/** Folder names that are plural class names map to the class (`horses` → `horse`). */
function labelOf(file: string): string {
  const folder = path.basename(path.dirname(file));
  return folder.endsWith('s') ? folder.slice(0, -1) : folder;
}

/** Publishes every image under `dir` (sorted) and resolves with the count. */
export async function publishImages(o: PublishOptions, logger: Logger): Promise<number> {
  const files = (await glob('**/*.{jpg,jpeg,png,webp,JPG,JPEG,PNG,WEBP}', { cwd: o.dir, absolute: true })).sort();
  if (files.length === 0) throw new CentaurError('CONFIG_INVALID', `no images under ${o.dir}`);
  if (o.format === 'avro' && o.registry === undefined) throw new CentaurError('CONFIG_INVALID', '--format avro needs --registry <url>');
  let encode: ((record: Record<string, unknown>) => Promise<Buffer>) | undefined;
  if (o.format === 'avro') {
    const codec = await AvroRegistryCodec.create({ url: o.registry as string });
    const id = await codec.register(`${o.topic}-value`, await readAvroSchema('camera-frame', '.'));
    encode = (record) => codec.encode(id, record);
  }
  const connection = connectionSettings(
    { brokers: [o.brokers], client: o.client, ssl: false, connectionTimeoutMs: 3000, requestTimeoutMs: 30000 },
    'publish',
    'images',
  );
  const producer = (await createClientFactory(connection, logger)).producer({ compression: 'none', idempotent: true, allowAutoTopicCreation: true });
  await producer.connect();
  try {
    const chunk = 64;
    for (let start = 0; start < files.length; start += chunk) {
      const messages: KafkaOutputMessage[] = await Promise.all(
        files.slice(start, start + chunk).map(async (file, j): Promise<KafkaOutputMessage> => {
          const i = start + j;
          const image = await readFile(file);
          const cameraId = `cam-${i % o.cameras}`;
          const frameId = path.relative(o.dir, file);
          const captureTime = Date.now();
          const label = labelOf(file);
          if (encode !== undefined) {
            const value = await encode({ cameraId, frameId, captureTime, image, contentType: null, metadata: {} });
            return { key: cameraId, value, headers: { label } };
          }
          return { key: cameraId, value: image, headers: { id: frameId, label, 'capture-time': String(captureTime) } };
        }),
      );
      await producer.send(o.topic, messages);
    }
  } finally {
    await producer.close();
  }
  return files.length;
}
