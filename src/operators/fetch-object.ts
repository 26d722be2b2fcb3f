/**
 * `fetch-object`: resolves inputs that are references (upload events naming an object in the
 * data lake) into their bytes, a bounded number at a time, keeping order. Inputs that already
 * carry bytes pass through. Schemes: `file://` (object-store schemes join as the data lake
 * grows). A missing or unreadable object, an unknown scheme, or an object over `maxBytes` is a
 * dead letter carrying the URI.
 */
import { open } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import { EMPTY, mergeMap, of } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { Envelope, Item } from '../core/envelope.js';
import { isBatch } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import { concurrentMap } from './rx/concurrent-map.js';

const options = Type.Object(
  {
    maxBytes: Type.Integer({ minimum: 1, default: 20_971_520, description: 'Largest object fetched; larger ones are dead letters (OBJECT_TOO_LARGE).' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 16, description: 'Objects fetched at once (output order is kept).' }),
  },
  { additionalProperties: false },
);

type Outcome = { readonly envelope: Envelope; readonly error?: CentaurError };

/** Fetches the bytes of referenced objects. */
export const fetchObject = defineOperator({
  kind: 'fetch-object',
  role: 'operator',
  description: 'Fetches the bytes of inputs that reference an object (file:// URIs), with size limits and bounded concurrency.',
  stability: 'experimental',
  options,
  create: (o) => ({
    accepts: 'envelope',
    apply: (input, ctx) =>
      input.pipe(
        concurrentMap(async (item: Item): Promise<Outcome> => {
          if (isBatch(item)) throw new CentaurError('INTERNAL', 'fetch-object received a batch; the runtime must unbatch its input');
          try {
            await fetchInto(item, o.maxBytes, ctx.nodeId);
            return { envelope: item };
          } catch (error) {
            return { envelope: item, error: toCentaurError(error, 'OBJECT_FETCH_FAILED') };
          }
        }, o.concurrency),
        mergeMap((outcome) => {
          if (outcome.error === undefined) return of<Item>(outcome.envelope);
          ctx.fail(outcome.envelope, outcome.error);
          return EMPTY;
        }),
      ),
  }),
});

async function fetchInto(envelope: Envelope, maxBytes: number, nodeId: string): Promise<void> {
  const payload = envelope.payload;
  if (payload.kind === 'bytes') return;
  const started = performance.now();
  const uri = payload.uri;
  if (!uri.startsWith('file://')) {
    throw new CentaurError('OBJECT_FETCH_FAILED', `cannot fetch ${uri}: only file:// URIs are supported by this build`);
  }
  let file;
  try {
    file = await open(fileURLToPath(uri), 'r');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such object' : (error as Error).message;
    throw new CentaurError('OBJECT_FETCH_FAILED', `cannot fetch ${uri}: ${why}`, { cause: error });
  }
  try {
    const { size } = await file.stat();
    if (size > maxBytes) throw new CentaurError('OBJECT_TOO_LARGE', `${uri} is ${size} bytes, over maxBytes ${maxBytes}`);
    const bytes = await file.readFile();
    envelope.payload = { kind: 'bytes', bytes };
    envelope.sizeBytes += bytes.length;
  } finally {
    await file.close();
  }
  envelope.timings[nodeId] = performance.now() - started;
}
