/**
 * `object-source`: reprocesses a data lake. Lists a prefix of an object store (`s3://`,
 * `azure://`, `file://` or a folder relative to the topology) in key order and emits one input per
 * object with its bytes, its URI and its last-modified time as event time; `once` lists the prefix
 * and ends, `poll` lists again every `pollIntervalMs` for keys after the last one listed. Objects
 * are numbered as they are emitted and the runtime commits contiguous offsets, which turn into a
 * key watermark (`object-watermark.ts`) persisted in a small JSON object, so a restart lists from
 * after the last key done. An object over `maxBytes`, one that vanished after the listing, or one
 * the credentials may not read is a dead letter carrying its URI; the rest go on.
 */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { defineSource } from '../core/component.js';
import type { Source, SourceContext } from '../core/component.js';
import type { EnvelopeInit } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { retry } from '../core/retry.js';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.js';
import { locationToUri, parseObjectUri } from '../storage/object-uri.js';
import type { ObjectScheme } from '../storage/object-uri.js';
import { tooLarge } from '../storage/read-limited.js';
import { StoreResolver } from '../storage/store-for.js';
import { objectUriProblems, StoreConnectionFields } from '../storage/store-options.js';
import type { StoreSettings } from '../storage/store-options.js';
import { KeyLedger, WatermarkFile, watermarkOption } from '../storage/object-watermark.js';
import { PauseGate } from '../core/pause-gate.js';

const DEFAULT_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif'];

const options = Type.Object(
  {
    uri: Type.String({
      minLength: 1,
      description:
        'What to list: `s3://bucket/prefix`, `azure://container/prefix`, `file:///path`, or a folder relative to the topology file. A URI is a key prefix as written (`s3://b/uploads` also matches `uploads-old/…`; end it with `/` for a folder).',
    }),
    mode: Type.Union([Type.Literal('once'), Type.Literal('poll')], {
      default: 'once',
      description: '`once`: list the prefix, emit every object, end. `poll`: list again every `pollIntervalMs` for keys after the last one listed, until stopped (needs `watermark`).',
    }),
    pollIntervalMs: Type.Integer({ minimum: 100, default: 10000, description: 'Time between two listings in `poll` mode.' }),
    extensions: Type.Array(Type.String(), {
      default: DEFAULT_EXTENSIONS,
      description: 'Keys with these extensions are read (any case; `[]` for every key); not used when `glob` is set.',
    }),
    glob: Type.Optional(
      Type.String({ minLength: 1, description: 'Only keys matching this glob, relative to `uri` (e.g. `2026-*/**/*.{jpg,png}`); replaces `extensions`.' }),
    ),
    labels: Type.Union([Type.Literal('none'), Type.Literal('parent-folder')], {
      default: 'none',
      description: 'Take each image’s ground-truth label from the last folder of its key (`…/horses/x.jpg` → `horses`).',
    }),
    labelMap: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Renames folder names to class labels, e.g. `{ horses: horse, humans: human }`.' }),
    maxBytes: Type.Integer({ minimum: 1, default: 20_971_520, description: 'Largest object read; a larger one is a dead letter (OBJECT_TOO_LARGE) with its URI, and the rest go on.' }),
    concurrency: Type.Integer({ minimum: 1, maximum: 256, default: 8, description: 'Objects read at once (they are emitted in key order).' }),
    pageSize: Type.Integer({ minimum: 1, maximum: 1000, default: 1000, description: 'Keys asked for in one listing request.' }),
    retries: Type.Integer({
      minimum: 0,
      maximum: 30,
      default: 8,
      description:
        'Retries of a listing or read the store could not answer (unreachable, 5xx, throttled), with backoff from 250 ms up to 5 s; then a read is a dead letter (OBJECT_STORE_UNAVAILABLE), a listing ends a `once` run with that error, and a `poll` run tries again at the next poll.',
    }),
    timeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'Deadline of one request to S3 or Azure, in milliseconds.' }),
    watermark: watermarkOption(
      'The greatest key such that it and every key before it are done, kept so that a restart lists from after it. Without it, every `once` run reads the whole prefix. Objects written later under keys that sort before it are not read.',
    ),
    ...StoreConnectionFields,
  },
  { additionalProperties: false },
);
type Options = Static<typeof options>;

/** Lists an object-store prefix and emits its objects' bytes, once or continuously. */
export const objectSource = defineSource({
  kind: 'object-source',
  role: 'source',
  description: 'Lists a prefix of S3, Azure Blob or a folder in key order and reads each object, once or polling, with a key watermark for restarts.',
  stability: 'experimental',
  options,
  examples: [
    { title: 'Every image under a folder (or s3://, azure:// prefix)', options: { uri: 'images' } },
    { title: 'New objects of a bucket prefix, resuming after the last one read', options: { uri: 's3://uploads/cameras/', mode: 'poll', watermark: { uri: 's3://uploads/state/watermark.json' } } },
  ],
  claims: (o, baseDir) => (o.watermark === undefined ? [] : [`watermark ${locationToUri(o.watermark.uri, baseDir)}`]),
  validate: (o, ctx) => [
    ...objectUriProblems(['uri'], prefixUri(o.uri, ctx.baseDir)),
    ...(o.mode === 'poll' && o.watermark === undefined
      ? [
          {
            path: ['mode'],
            message: `\`mode: poll\` needs \`watermark: { uri }\`, so that a restart goes on after the last object done rather than reading ${prefixUri(o.uri, ctx.baseDir)} again`,
            suggestion: `add e.g. \`watermark: { uri: state/${ctx.nodeId}.watermark.json }\``,
          },
        ]
      : []),
    ...(o.watermark === undefined ? [] : objectUriProblems(['watermark', 'uri'], locationToUri(o.watermark.uri, ctx.baseDir))),
  ],
  create: async (o, ctx): Promise<Source> => {
    const prefix = prefixUri(o.uri, ctx.baseDir);
    let match: (relativeKey: string) => boolean;
    if (o.glob !== undefined) {
      const { default: picomatch } = await import('picomatch');
      match = picomatch(o.glob, { dot: true });
    } else {
      const extensions = new Set(o.extensions.map((e) => e.toLowerCase().replace(/^\./, '')));
      match = (key) => extensions.size === 0 || extensions.has(path.posix.extname(key).slice(1).toLowerCase());
    }
    const settings: StoreSettings = { ...(o.s3 === undefined ? {} : { s3: o.s3 }), ...(o.azure === undefined ? {} : { azure: o.azure }), timeoutMs: o.timeoutMs };
    const stores = new StoreResolver(settings);
    try {
      const store = await stores.storeFor(prefix);
      await probe(store, prefix, o.retries, ctx.nodeId);
      let watermark: WatermarkFile | undefined;
      let start: string | undefined;
      if (o.watermark !== undefined) {
        const uri = locationToUri(o.watermark.uri, ctx.baseDir);
        watermark = new WatermarkFile(await stores.storeFor(uri), { uri, prefix, intervalMs: o.watermark.intervalMs });
        start = await watermark.load();
      }
      return new ObjectSource(o, { prefix, store, stores, watermark, start, match, nodeId: ctx.nodeId, logger: ctx.logger });
    } catch (error) {
      await stores.close();
      const e = toCentaurError(error, 'CONFIG_INVALID');
      throw e.code === 'CONFIG_INVALID' || e.retriable ? e : new CentaurError('CONFIG_INVALID', `node \`${ctx.nodeId}\`: ${e.message}`, { cause: e });
    }
  },
});

/** The prefix URI: a URI as written; a local path (without a scheme) is a folder, so it gets a trailing `/`. */
function prefixUri(location: string, baseDir: string): string {
  const uri = locationToUri(location, baseDir);
  return uri === location || uri.endsWith('/') ? uri : `${uri}/`;
}

/**
 * Lists one object before any input is read, so a missing bucket or container or credentials that
 * may not list it stop the start as a config error (exit 2); a store still unreachable after the
 * retries stops it with OBJECT_STORE_UNAVAILABLE.
 */
async function probe(store: ObjectStore, prefix: string, retries: number, nodeId: string): Promise<void> {
  try {
    await retry(() => store.list(prefix, { limit: 1 }), { attempts: retries + 1, baseDelayMs: 250, maxDelayMs: 5000 });
  } catch (error) {
    const e = toCentaurError(error, 'OBJECT_FETCH_FAILED');
    if (e.retriable) throw e;
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: \`uri\` ${prefix} cannot be listed: ${e.message}`, { cause: e });
  }
}

/** What the source needs besides its options. */
interface Wiring {
  readonly prefix: string;
  readonly store: ObjectStore;
  readonly stores: StoreResolver;
  readonly watermark: WatermarkFile | undefined;
  /** The watermark loaded at start. */
  readonly start: string | undefined;
  readonly match: (relativeKey: string) => boolean;
  readonly nodeId: string;
  readonly logger: Logger;
}

/** One object's read, started in key order: what to hand to the runtime once it is its turn. */
type Pending = Promise<(ctx: SourceContext) => void>;

class ObjectSource implements Source {
  private readonly ledger: KeyLedger;
  private readonly prefixKey: string;
  private readonly scheme: ObjectScheme;
  /** The last key listed (emitted or filtered out): the next listing starts after it. */
  private cursor: string | undefined;
  private readonly gate = new PauseGate();
  private listFailure: string | null = null;
  /** Aborted by `stop`, so that no retry waits any longer. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly o: Options,
    private readonly w: Wiring,
  ) {
    this.ledger = new KeyLedger(w.start);
    this.cursor = w.start;
    const parsed = parseObjectUri(w.prefix);
    this.scheme = parsed.scheme;
    this.prefixKey = parsed.key;
  }

  async start(ctx: SourceContext): Promise<void> {
    if (this.w.start !== undefined) this.w.logger.info({ prefix: this.w.prefix, after: this.w.start }, 'Listing from after the watermark.');
    for (;;) {
      try {
        await this.listAndRead(ctx);
        this.listFailure = null;
      } catch (error) {
        const e = toCentaurError(error, 'OBJECT_FETCH_FAILED');
        if (this.o.mode === 'once') throw e;
        this.listFailure = `listing ${this.w.prefix} failed: ${e.message}`;
        this.w.logger.warn({ code: e.code, error: e.message }, 'Listing failed; trying again at the next poll.');
      }
      if (this.o.mode === 'once' || this.gate.stopped) return;
      await this.gate.sleep(this.o.pollIntervalMs);
      if (this.gate.stopped) return;
    }
  }

  pause(): void {
    this.gate.pause();
  }

  resume(): void {
    this.gate.resume();
  }

  async stop(): Promise<void> {
    this.gate.stop();
    this.stopping.abort();
  }

  async commit(partition: string, offset: number): Promise<void> {
    if (partition !== this.w.prefix) return;
    const key = this.ledger.commit(offset);
    if (key !== undefined) await this.w.watermark?.update(key);
  }

  /** Writes the last watermark and releases the stores. */
  async close(): Promise<void> {
    try {
      await this.w.watermark?.flush();
    } finally {
      await this.w.stores.close();
    }
  }

  health(): string | null {
    const failure = this.w.watermark?.lastFailure;
    return this.listFailure ?? (failure === undefined ? null : failure.message);
  }

  /** One listing from after the cursor, page by page; reads `concurrency` objects at once and hands them over in key order. */
  private async listAndRead(ctx: SourceContext): Promise<void> {
    const reads: Pending[] = [];
    const handOver = async (): Promise<void> => {
      const next = await (reads.shift() as Pending);
      if (!this.gate.stopped) next(ctx);
    };
    let continuation: string | undefined;
    const startAfter = this.cursor;
    try {
      do {
        const page = await retry(
          () => this.w.store.list(this.w.prefix, { limit: this.o.pageSize, ...(startAfter === undefined ? {} : { startAfter }), ...(continuation === undefined ? {} : { continuation }) }),
          { ...this.retryPolicy(), onRetry: (e, attempt) => this.w.logger.warn({ code: e.code, error: e.message, attempt }, 'Listing failed; retrying.') },
        );
        for (const object of page.objects) {
          this.cursor = object.key;
          const relative = this.relativeKey(object.key);
          if (relative.length === 0 || relative.endsWith('/') || !this.w.match(relative)) continue;
          await this.gate.whilePaused();
          if (this.gate.stopped) return;
          reads.push(this.read(object, relative));
          if (reads.length >= this.o.concurrency) await handOver();
        }
        continuation = page.continuation;
      } while (continuation !== undefined && !this.gate.stopped);
    } finally {
      // Reads already started are handed over even when a later page failed: the cursor is past them.
      while (reads.length > 0 && !this.gate.stopped) await handOver();
    }
  }

  /** Backoff for listings and reads; a stop ends the waiting. */
  private retryPolicy(): { attempts: number; baseDelayMs: number; maxDelayMs: number; signal: AbortSignal } {
    return { attempts: this.o.retries + 1, baseDelayMs: 250, maxDelayMs: 5000, signal: this.stopping.signal };
  }

  /** Reads one object; resolves with the hand-over (emit or dead letter), never rejects. */
  private async read(object: ObjectInfo, relative: string): Pending {
    const uri = object.uri;
    const folder = path.posix.basename(path.posix.dirname(`/${relative}`));
    const label = this.o.labels === 'parent-folder' && folder.length > 0 ? (this.o.labelMap[folder] ?? folder) : undefined;
    const eventTime = object.lastModified?.getTime() ?? Date.now();
    const metadata = { uri, ...(object.etag === undefined ? {} : { etag: object.etag }) };
    const base = (offset: number) => ({
      id: uri,
      key: relative,
      eventTime,
      position: { source: this.w.nodeId, partition: this.w.prefix, offset, uri },
      metadata,
      ...(label === undefined ? {} : { label }),
    });
    const failed = (error: unknown) => (ctx: SourceContext) => {
      const init: EnvelopeInit = { ...base(this.ledger.assign(object.key)), payload: { kind: 'reference', uri }, sizeBytes: 0 };
      ctx.fail(init, toCentaurError(error, 'OBJECT_FETCH_FAILED'));
    };
    if (object.size > this.o.maxBytes) return failed(tooLarge(uri, object.size, this.o.maxBytes));
    try {
      const bytes = await retry(() => this.w.store.get(uri, { maxBytes: this.o.maxBytes }), {
        ...this.retryPolicy(),
        onRetry: (e, attempt) => this.w.logger.warn({ code: e.code, error: e.message, attempt }, 'Object read failed; retrying.'),
      });
      return (ctx) => ctx.emit({ ...base(this.ledger.assign(object.key)), payload: { kind: 'bytes', bytes }, sizeBytes: bytes.length });
    } catch (error) {
      return failed(error);
    }
  }

  /** The key below the prefix, `/`-separated (a prefix that is not a folder leaves no leading `/`). */
  private relativeKey(key: string): string {
    if (this.scheme === 'file') {
      const rest = key.slice(this.prefixKey.length).split(path.sep).join('/');
      return rest.replace(/^\/+/, '');
    }
    return key.slice(this.prefixKey.length).replace(/^\/+/, '');
  }

}
