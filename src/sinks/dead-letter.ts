/** `dead-letter`: failed inputs as JSON lines with the reason and the original reference. */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineSink } from '../core/component.js';
import type { Sink } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import { JsonlWriter } from '../formats/jsonl-writer.js';
import { toDeadLetterRecord } from '../formats/prediction-record.js';

const options = Type.Object(
  {
    dir: Type.String({ minLength: 1, description: 'Output folder, relative to the topology file.' }),
    prefix: Type.String({ pattern: '^[A-Za-z0-9._-]+$', default: 'dead-letters', description: 'File name prefix; files are `<prefix>-<seq>.jsonl`.' }),
    includePayload: Type.Union([Type.Literal('auto'), Type.Literal('always'), Type.Literal('never')], {
      default: 'auto',
      description: '`auto`: the original bytes (base64) only when the input has no file/object reference.',
    }),
    maxFileBytes: Type.Integer({ minimum: 0, default: 67108864, description: 'Start a new file past this size (0 = never).' }),
    fsync: Type.Boolean({ default: false, description: 'fsync after each write before acknowledging.' }),
  },
  { additionalProperties: false },
);

/** Creates the dead-letter writer; also used for the built-in default dead-letter sink. */
export function createDeadLetterSink(dir: string, prefix: string, includePayload: 'auto' | 'always' | 'never', maxFileBytes: number, fsync: boolean): Sink {
  const writer = new JsonlWriter({ dir, prefix, maxFileBytes, maxFileAgeMs: 0, fsync });
  return {
    write: async () => {
      throw new CentaurError('INTERNAL', 'the dead-letter sink only takes failed inputs; do not name it in `from`');
    },
    writeDeadLetters: (letters) => writer.write(letters.map((l) => JSON.stringify(toDeadLetterRecord(l, includePayload)))),
    flush: async () => undefined,
    close: () => writer.close(),
  };
}

/** Writes failed inputs with node, error code, class and message, and their reference or bytes. */
export const deadLetter = defineSink({
  kind: 'dead-letter',
  role: 'sink',
  takesDeadLetters: true,
  description: 'Writes failed inputs, with the error and the original reference, as JSON lines.',
  stability: 'beta',
  options,
  examples: [
    { title: 'Failed inputs with their reasons, as JSON lines', options: { dir: 'dead-letters' } },
  ],
  claims: (o, baseDir) => [`output ${path.join(path.resolve(baseDir, o.dir), o.prefix)}-*.jsonl`],
  create: (o, ctx): Sink => createDeadLetterSink(path.resolve(ctx.baseDir, o.dir), o.prefix, o.includePayload, o.maxFileBytes, o.fsync),
});
