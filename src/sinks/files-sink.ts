/** `files-sink`: predictions as JSON lines in rotating files. */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink } from '../core/component.js';
import { JsonlWriter } from '../formats/jsonl-writer.js';
import { toPredictionRecord } from '../formats/prediction-record.js';

const options = Type.Object(
  {
    dir: Type.String({ minLength: 1, description: 'Output folder, relative to the topology file.' }),
    prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9._-]+$', description: 'File name prefix; files are `<prefix>-<seq>.jsonl`. Default: the node id.' })),
    maxFileBytes: Type.Integer({ minimum: 0, default: 67108864, description: 'Start a new file past this size (0 = never).' }),
    maxFileAgeMs: Type.Integer({ minimum: 0, default: 0, description: 'Start a new file after this long (0 = never).' }),
    includeEmbedding: Type.Boolean({ default: false, description: 'Write each embedding vector into its record.' }),
    fsync: Type.Boolean({ default: false, description: 'fsync after each write before acknowledging (durable across power loss, slower).' }),
  },
  { additionalProperties: false },
);

/** Writes one JSON record per prediction to rotating `.jsonl` files. */
export const filesSink = defineSink({
  kind: 'files-sink',
  role: 'sink',
  description: 'Writes predictions as JSON lines to rotating files.',
  stability: 'beta',
  options,
  examples: [
    { title: 'JSON lines in a folder', options: { dir: 'out' } },
  ],
  claims: (o, baseDir) => [`output ${path.join(path.resolve(baseDir, o.dir), o.prefix ?? '<node>')}-*.jsonl`],
  create: (o, ctx): Sink => {
    const writer = new JsonlWriter({
      dir: path.resolve(ctx.baseDir, o.dir),
      prefix: o.prefix ?? ctx.nodeId,
      maxFileBytes: o.maxFileBytes,
      maxFileAgeMs: o.maxFileAgeMs,
      fsync: o.fsync,
    });
    return {
      write: (envelopes) => writer.write(envelopes.map((e) => JSON.stringify(toPredictionRecord(e, { includeEmbedding: o.includeEmbedding })))),
      flush: async () => undefined,
      close: () => writer.close(),
    };
  },
});
