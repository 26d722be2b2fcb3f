/**
 * `fetch-object`: resolves inputs that are references (upload events naming an object in the
 * data lake) into their bytes, a bounded number at a time, keeping order. Inputs that already
 * carry bytes pass through. Schemes: `file://`, `s3://bucket/key` and `azure://container/blob`
 * (`src/storage/`). The URIs come from input data, so they are untrusted: only prefixes in `allow`
 * are read (default: any bucket of `s3://` and `azure://`), and `file://` only inside `fileBase`
 * (`src/storage/uri-allow-list.ts`). An unreachable or failing store is retried with backoff; a
 * refused URI, a missing object, a refusal by the store, an unknown scheme, an object over
 * `maxBytes`, or a store still failing after the retries is a dead letter carrying the URI.
 */
import path from 'node:path';
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
import { UriAllowList, parseAllowEntry } from '../storage/uri-allow-list.js';
import { concurrentMap } from '../rx/concurrent-map.js';

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
    allow: Type.Array(Type.String({ minLength: 1 }), {
      default: ['s3://', 'azure://'],
      description:
        'URI prefixes an input may name: `s3://` (every bucket the credentials reach), `s3://bucket`, `s3://bucket/prefix/`, likewise `azure://container/prefix/`. ' +
        'Other URIs are dead letters (OBJECT_URI_REFUSED). `file://` is governed by `fileBase` instead.',
    }),
    fileBase: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Folder (relative to the topology file) whose files inputs may name as `file://` URIs; the real path, symlinks and `..` resolved, must lie inside it. ' +
          'Without it every `file://` URI from an input is refused (OBJECT_URI_REFUSED).',
      }),
    ),
    ...StoreConnectionFields,
  },
  { additionalProperties: false },
);

type Outcome = { readonly envelope: Envelope; readonly error?: CentaurError };

/** How one fetch is done: what may be read, the stores, the limit, the retry policy. */
interface Fetcher {
  readonly allowList: UriAllowList;
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
  examples: [
    { title: 'Objects that upload events name, from any bucket', options: {} },
    { title: 'Only one bucket prefix, and local files under a folder', options: { allow: ['s3://uploads/cameras/'], fileBase: 'images' } },
  ],
  validate: (o) =>
    o.allow.flatMap((entry, index) => {
      const parsed = parseAllowEntry(entry);
      return 'problem' in parsed ? [{ path: ['allow', index], message: parsed.problem, suggestion: parsed.suggestion }] : [];
    }),
  create: (o, ctx) => {
    const stores = new StoreResolver({ ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs });
    const allowList = new UriAllowList({ allow: o.allow, ...(o.fileBase === undefined ? {} : { fileBase: path.resolve(ctx.baseDir, o.fileBase) }) });
    const fetcher: Fetcher = { allowList, stores, maxBytes: o.maxBytes, retries: o.retries, nodeId: ctx.nodeId, logger: ctx.logger };
    const everyBucket = o.allow.filter((entry) => /^[a-z][a-z0-9+.-]*:\/\/$/i.test(entry));
    if (everyBucket.length > 0) {
      ctx.logger.warn({ allow: everyBucket }, 'Upload events may name any bucket or container the credentials reach; narrow `allow` to the prefixes uploads use (e.g. s3://uploads/cameras/).');
    }
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
  const uri = await f.allowList.check(payload.uri);
  const store = await f.stores.storeFor(uri);
  const bytes = await retry(() => store.get(uri, { maxBytes: f.maxBytes }), {
    attempts: f.retries + 1,
    baseDelayMs: 250,
    maxDelayMs: 5000,
    onRetry: (error, attempt, delayMs) => f.logger?.warn({ code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'Object fetch failed; retrying.'),
  });
  envelope.payload = { kind: 'bytes', bytes };
  envelope.fetchedFrom = uri;
  envelope.sizeBytes += bytes.length;
  envelope.timings[f.nodeId] = performance.now() - started;
}
