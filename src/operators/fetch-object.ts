/**
 * `fetch-object`: resolves inputs that are references (upload events naming an object in the
 * data lake) into their bytes, a bounded number at a time, keeping order. Inputs that already
 * carry bytes pass through. Schemes: `file://`, `s3://bucket/key` and `azure://container/blob`
 * (`src/storage/`). An unreachable or failing store is retried with backoff; a missing object, a
 * refusal, an unknown scheme, an object over `maxBytes`, or a store still failing after the
 * retries is a dead letter carrying the URI.
 */
import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import { EMPTY, mergeMap, of } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { Envelope, Item } from '../core/envelope.js';
import { isBatch } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import { StoreResolver } from '../storage/store-for.js';
import { StoreConnectionFields } from '../storage/store-options.js';
import { concurrentMap } from './rx/concurrent-map.js';

const options = Type.Object(
  {
    maxBytes: Type.Integer({ minimum: 1, default: 20_971_520, description: 'Largest object fetched; larger ones are dead letters (OBJECT_TOO_LARGE).' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 16, description: 'Objects fetched at once (output order is kept).' }),
    retries: Type.Integer({
      minimum: 0,
      maximum: 30,
      default: 16,
      description: 'Retries of a fetch the store could not answer (unreachable, 5xx, throttled), with jittered backoff from 250 ms up to 5 s (by default about 31 s of waiting in all, at most 63 s, so a store that is gone for 10 to 20 s loses nothing); then the input is a dead letter (OBJECT_STORE_UNAVAILABLE).',
    }),
    timeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'Deadline of one request to S3 or Azure, in milliseconds.' }),
    ...StoreConnectionFields,
  },
  { additionalProperties: false },
);

type Outcome = { readonly envelope: Envelope; readonly error?: CentaurError };

/** How one fetch is done: the stores, the limit, the retry policy. */
interface Fetcher {
  readonly stores: StoreResolver;
  readonly maxBytes: number;
  readonly retries: number;
  readonly nodeId: string;
  readonly logger?: Logger;
}

/** Fetches the bytes of referenced objects. */
export const fetchObject = defineOperator({
  kind: 'fetch-object',
  role: 'operator',
  description: 'Fetches the bytes of inputs that reference an object (file://, s3://, azure:// URIs), with size limits, retries and bounded concurrency.',
  stability: 'experimental',
  options,
  create: (o, ctx) => {
    const stores = new StoreResolver({ ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs });
    const fetcher: Fetcher = { stores, maxBytes: o.maxBytes, retries: o.retries, nodeId: ctx.nodeId, logger: ctx.logger };
    return {
      accepts: 'envelope',
      apply: (input, opCtx) =>
        input.pipe(
          concurrentMap(async (item: Item): Promise<Outcome> => {
            if (isBatch(item)) throw new CentaurError('INTERNAL', 'fetch-object received a batch; the runtime must unbatch its input');
            try {
              await fetchInto(item, { ...fetcher, nodeId: opCtx.nodeId });
              return { envelope: item };
            } catch (error) {
              return { envelope: item, error: toCentaurError(error, 'OBJECT_FETCH_FAILED') };
            }
          }, o.concurrency),
          mergeMap((outcome) => {
            if (outcome.error === undefined) return of<Item>(outcome.envelope);
            opCtx.fail(outcome.envelope, outcome.error);
            return EMPTY;
          }),
        ),
      close: () => stores.close(),
    };
  },
});

async function fetchInto(envelope: Envelope, f: Fetcher): Promise<void> {
  const payload = envelope.payload;
  if (payload.kind === 'bytes') return;
  const started = performance.now();
  const uri = payload.uri;
  const store = await f.stores.storeFor(uri);
  const bytes = await retry(() => store.get(uri, { maxBytes: f.maxBytes }), {
    attempts: f.retries + 1,
    baseDelayMs: 250,
    maxDelayMs: 5000,
    onRetry: (error, attempt, delayMs) => f.logger?.warn({ code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'Object fetch failed; retrying.'),
  });
  envelope.payload = { kind: 'bytes', bytes };
  envelope.sizeBytes += bytes.length;
  envelope.timings[f.nodeId] = performance.now() - started;
}
