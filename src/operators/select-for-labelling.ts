/**
 * `select-for-labelling`: after `infer`, picks the inputs a person should label, within a labelling
 * budget, and passes only those on, marked with why (`envelope.labelling`: strategy, uncertainty
 * measure and score, window). Windows are `size` inputs, or fewer when `maxWaitMs` passes first
 * (or the input ends); in each, a random exploration share is drawn first, then the most uncertain
 * inputs, stratified by predicted class and optionally diversified by k-center greedy over their
 * embeddings (src/labelling/selection.ts); a labels-per-hour ceiling caps every window's budget.
 * Inputs not picked are done here, not failed (as `filter` drops them), so every input is
 * acknowledged once whatever is picked; an input without a prediction is a dead letter. Put it on a branch of its own beside the prediction sinks:
 * it holds a window's inputs until the window closes, which delays their acknowledgement, never the
 * predictions on the other branch. `perWindow` is per instance (a window is one instance's);
 * `perHour` too, unless `budget.shared` keeps it in Redis for every instance together, with a
 * grant per input so an input read again after a crash keeps its pick without spending twice.
 */
import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { Observable } from 'rxjs';
import type { Subscription } from 'rxjs';
import { defineOperator } from '../core/component.js';
import { CentaurError } from '../core/errors.js';
import { retry } from '../core/retry.js';
import type { Operator, OperatorContext } from '../core/component.js';
import type { Envelope, Item } from '../core/envelope.js';
import { NO_METRICS } from '../core/metric-family.js';
import type { CounterFamily } from '../core/metric-family.js';
import { Random } from '../drift/state/random.js';
import { RateCeiling, selectForLabelling } from '../labelling/selection.js';
import { SharedBudget } from '../labelling/shared-budget.js';
import type { Candidate } from '../labelling/selection.js';
import { uncertainty, UNCERTAINTY_METHODS } from '../labelling/uncertainty.js';
import { ImageArchive } from '../storage/image-archive.js';
import { lakeBaseUri, probeLake } from '../storage/lake-location.js';
import { storeFor } from '../storage/store-for.js';
import { LAKE_FOLDER_PATTERN, objectUriProblems, StoreUploadFields } from '../storage/store-options.js';
import type { UncertaintyMethod } from '../labelling/uncertainty.js';

/** Inputs of one window at most; why: a window's inputs are held in memory until it closes. */
export const MAX_WINDOW_INPUTS = 10_000;

/** Options of `select-for-labelling`. */
export const SelectForLabellingOptions = Type.Object(
  {
    method: Type.Union(
      UNCERTAINTY_METHODS.map((m) => Type.Literal(m)),
      { default: 'margin', description: 'Uncertainty measure: `least-confidence` (1 − top probability), `margin` (1 − the gap between the two top probabilities) or `entropy` (normalised).' },
    ),
    window: Type.Object(
      {
        size: Type.Integer({ minimum: 1, maximum: MAX_WINDOW_INPUTS, default: 500, description: 'Inputs per window (held until it closes).' }),
        maxWaitMs: Type.Integer({ minimum: 1, default: 60_000, description: 'A window closes this long after its first input even if not full (and at the end of input).' }),
      },
      { additionalProperties: false, default: {}, description: 'Selection windows.' },
    ),
    budget: Type.Object(
      {
        perWindow: Type.Integer({ minimum: 0, default: 10, description: 'Inputs picked per window at most.' }),
        perHour: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'Labels per hour at most, what the team can label (a token bucket, full at start).' })),
        shared: Type.Optional(
          Type.Object(
            {
              url: Type.String({ minLength: 1, description: 'Redis URL, e.g. `${CENTAUR_REDIS_URL}`: where every instance of the topology keeps the one `perHour` bucket.' }),
              key: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'Prefix of the budget\'s Redis keys (default `centaur:labelling:<topology>:<node>`); instances sharing a budget share it.' })),
              grantTtlSeconds: Type.Integer({ minimum: 60, default: 604_800, description: 'How long an input\'s grant is remembered: the same input read again within it (a crash, a rebalance) keeps its pick without spending another label.' }),
              timeoutMs: Type.Integer({ minimum: 100, default: 2000, description: 'Deadline of one reservation; past it, or with Redis down, the window gets no picks (logged).' }),
            },
            { additionalProperties: false, description: 'Keep `perHour` in Redis for every instance of the topology together (with `perHour`), instead of per instance.' },
          ),
        ),
      },
      { additionalProperties: false, default: {}, description: 'The labelling budget.' },
    ),
    explorationShare: Type.Number({ minimum: 0, maximum: 1, default: 0.1, description: 'Share of each window\'s picks drawn at random from all its inputs (unbiased accuracy estimates come from these).' }),
    stratify: Type.Boolean({ default: true, description: 'Equal quotas per predicted class, so a dominant class does not take the whole budget.' }),
    diversity: Type.Object(
      {
        enabled: Type.Boolean({ default: true, description: 'Pick by k-center greedy over embeddings among the most uncertain (needs `includeEmbedding` on `infer`; without embeddings, the most uncertain).' }),
        pool: Type.Number({ minimum: 1, default: 4, description: 'Candidates considered per pick: k-center runs over the `pool × quota` most uncertain of a class.' }),
      },
      { additionalProperties: false, default: {}, description: 'Diversity: near-duplicates cost one label.' },
    ),
    seed: Type.Integer({ default: 1, description: 'Seed of the exploration draws.' }),
    archive: Type.Optional(
      Type.Object(
        {
          uri: Type.String({ minLength: 1, description: 'The lake: `s3://bucket/prefix`, `azure://container/prefix`, `file:///path` or a folder relative to the topology file (probed at start).' }),
          prefix: Type.String({ pattern: LAKE_FOLDER_PATTERN, default: 'labelling', description: 'Folder of the archived images under `uri`: `<uri>/<prefix>/<sha256[0:2]>/<sha256>.<ext>`.' }),
          ...StoreUploadFields,
        },
        { additionalProperties: false, description: 'Archive each picked input\'s original bytes in the lake, content-addressed (as `object-sink` does), and name the object in the mark (`labelling.imageUri`), so the image a person must see exists whatever happens to the input\'s own source.' },
      ),
    ),
  },
  { additionalProperties: false },
);
export type SelectForLabellingOptions = Static<typeof SelectForLabellingOptions>;

const SELECTED: CounterFamily<'strategy'> = { type: 'counter', name: 'centaur_labelling_selected_total', help: 'Inputs picked for labelling, by strategy.', labels: ['strategy'] };
const CONSIDERED: CounterFamily<never> = { type: 'counter', name: 'centaur_labelling_considered_total', help: 'Inputs a labelling selection considered (with a prediction).', labels: [] };

/** Builds the operator; exported for tests and for embedding without the registry. */
export function createSelectForLabelling(
  o: SelectForLabellingOptions,
  metrics = NO_METRICS,
  clock: () => number = Date.now,
  archive?: { readonly images: ImageArchive; readonly retries: number },
  shared?: { readonly budget: SharedBudget; readonly warn: (error: Error) => void },
): Operator {
  const method: UncertaintyMethod = o.method;
  const random = Random.fromSeed(o.seed);
  const ceiling = o.budget.perHour === undefined || shared !== undefined ? undefined : new RateCeiling(o.budget.perHour);

  /** The window's picks the shared budget grants (none when Redis fails: the budget is only ever under-spent). */
  const granted = async (ids: readonly string[]): Promise<Set<string>> => {
    try {
      return await shared!.budget.reserve(ids);
    } catch (error) {
      shared!.warn(error as Error);
      return new Set();
    }
  };
  const selected = metrics.counter(SELECTED);
  const considered = metrics.counter(CONSIDERED);
  let windowIndex = 0;

  /** Archives a picked input's original bytes (with retries); resolves with its URI. */
  const archived = async (e: Envelope): Promise<string> => {
    const bytes = e.original?.value ?? (e.payload.kind === 'bytes' ? e.payload.bytes : undefined);
    if (bytes === undefined) throw new CentaurError('PAYLOAD_MISSING', 'the picked input has no bytes to archive (a reference payload): archive it where it was fetched, or leave `archive` out');
    const image = await retry(() => archive!.images.archive(bytes, e.image?.format), { attempts: archive!.retries + 1, baseDelayMs: 250, maxDelayMs: 5000 });
    return image.uri;
  };

  /** Decides one window: emits the picks (once archived, with `archive`), drops the rest; resolves when every pick is settled. */
  const decide = async (window: readonly Envelope[], emit: (e: Envelope) => void, ctx: OperatorContext): Promise<void> => {
    const started = performance.now();
    const candidates: Candidate[] = [];
    const unranked = new Set<number>();
    window.forEach((e, index) => {
      if (e.prediction === undefined) {
        unranked.add(index);
        return;
      }
      candidates.push({ index, predicted: e.prediction.label, uncertainty: uncertainty(method, e.prediction.probabilities), ...(o.diversity.enabled && e.embedding !== undefined ? { embedding: e.embedding } : {}) });
    });
    considered.inc({}, candidates.length);
    const now = clock();
    const budget = ceiling === undefined ? o.budget.perWindow : Math.min(o.budget.perWindow, ceiling.available(now));
    const picks = selectForLabelling(candidates, { budget, explorationShare: o.explorationShare, stratify: o.stratify, diversityPool: o.diversity.enabled ? o.diversity.pool : 1 }, random);
    ceiling?.spend(picks.length);
    let allowed = picks;
    if (shared !== undefined) {
      const ids = await granted(picks.map((p) => (window[p.index] as Envelope).id));
      allowed = picks.filter((p) => ids.has((window[p.index] as Envelope).id));
    }
    const byIndex = new Map(allowed.map((p) => [p.index, p.strategy]));
    const scores = new Map(candidates.map((c) => [c.index, c.uncertainty]));
    const index = windowIndex;
    windowIndex += 1;
    const elapsed = (performance.now() - started) / Math.max(1, window.length);
    const settling: Promise<void>[] = [];
    window.forEach((e, i) => {
      e.timings[ctx.nodeId] = elapsed;
      if (unranked.has(i)) {
        ctx.fail(e, new CentaurError('PREDICTION_MISSING', 'the input has no prediction to rank for labelling; put `infer` before `select-for-labelling`'));
        return;
      }
      const strategy = byIndex.get(i);
      if (strategy === undefined) {
        ctx.drop?.(e);
        return;
      }
      // A copy carries the mark: the same envelope may travel other branches (a prediction sink), which must not see it.
      selected.inc({ strategy });
      const mark = { strategy, method, uncertainty: scores.get(i)!, node: ctx.nodeId, window: index };
      if (archive === undefined) {
        emit({ ...e, labelling: mark });
        return;
      }
      settling.push(
        archived(e).then(
          (imageUri) => emit({ ...e, labelling: { ...mark, imageUri } }),
          (error: unknown) => ctx.fail(e, error),
        ),
      );
    });
    await Promise.all(settling);
  };

  return {
    accepts: 'envelope',
    apply: (input: Observable<Item>, ctx: OperatorContext): Observable<Item> =>
      new Observable<Item>((subscriber) => {
        let window: Envelope[] = [];
        let timer: Subscription | undefined;
        /** Windows whose picks are still being archived; completion waits for them. */
        const unsettled = new Set<Promise<void>>();
        const close = (): void => {
          timer?.unsubscribe();
          timer = undefined;
          const full = window;
          window = [];
          if (full.length === 0) return;
          const settled = decide(full, (e) => subscriber.next(e), ctx);
          unsettled.add(settled);
          void settled.finally(() => unsettled.delete(settled));
        };
        const subscription = input.subscribe({
          next: (item) => {
            window.push(item as Envelope);
            if (window.length === 1) timer = ctx.scheduler.schedule(close, o.window.maxWaitMs);
            if (window.length >= o.window.size) close();
          },
          error: (error: unknown) => subscriber.error(error),
          complete: () => {
            close();
            void Promise.all(unsettled).then(() => subscriber.complete());
          },
        });
        return () => {
          timer?.unsubscribe();
          subscription.unsubscribe();
        };
      }),
  };
}

/** The `select-for-labelling` operator spec. */
export const selectForLabellingSpec = defineOperator({
  kind: 'select-for-labelling',
  role: 'operator',
  stability: 'experimental',
  description: 'Picks the inputs a person should label within a budget (uncertainty, stratified by class, diversified by embeddings, plus a random share) and passes only those on, marked; the rest count as done.',
  options: SelectForLabellingOptions,
  examples: [
    { title: 'Ten labels per 500 inputs, at most 200 an hour', options: { window: { size: 500 }, budget: { perWindow: 10, perHour: 200 } } },
    { title: 'At most 200 labels an hour for every instance together', options: { window: { size: 500 }, budget: { perWindow: 10, perHour: 200, shared: { url: '${CENTAUR_REDIS_URL}' } } } },
  ],
  metrics: [SELECTED, CONSIDERED],
  claims: (o, baseDir) => (o.archive === undefined ? [] : [`output ${lakeBaseUri(o.archive.uri, baseDir)}/${o.archive.prefix}/`]),
  validate: (o, ctx) => [
    ...(o.budget.perWindow > o.window.size
      ? [{ path: ['budget', 'perWindow'], message: `budget.perWindow ${o.budget.perWindow} is more than window.size ${o.window.size}: every input would be picked`, suggestion: `lower \`budget.perWindow\` below ${o.window.size}, or raise \`window.size\`` }]
      : []),
    ...(o.budget.shared !== undefined && o.budget.perHour === undefined
      ? [{ path: ['budget', 'shared'], message: '`budget.shared` keeps `budget.perHour` in Redis, and there is none', suggestion: 'add `budget.perHour`, the labels per hour of every instance together' }]
      : []),
    ...(o.archive === undefined ? [] : objectUriProblems(['archive', 'uri'], lakeBaseUri(o.archive.uri, ctx.baseDir))),
  ],
  async create(o, ctx) {
    let shared: { budget: SharedBudget; warn: (error: Error) => void } | undefined;
    const s = o.budget.shared;
    if (s !== undefined && o.budget.perHour !== undefined) {
      const budget = new SharedBudget({ url: s.url, key: s.key ?? `centaur:labelling:${ctx.topologyName}:${ctx.nodeId}`, perHour: o.budget.perHour, grantTtlSeconds: s.grantTtlSeconds, timeoutMs: s.timeoutMs });
      await budget.connect();
      let lastWarning = 0;
      shared = {
        budget,
        warn: (error) => {
          // Once a minute at most: every window fails alike while Redis is away.
          if (Date.now() - lastWarning < 60_000) return;
          lastWarning = Date.now();
          ctx.logger.warn({ node: ctx.nodeId, error: error.message }, 'The shared labelling budget is unavailable; windows get no picks until it is back.');
        },
      };
    }
    const a = o.archive;
    if (a === undefined) {
      const operator = createSelectForLabelling(o, ctx.metrics, Date.now, undefined, shared);
      return shared === undefined ? operator : { ...operator, close: () => shared.budget.close() };
    }
    const base = lakeBaseUri(a.uri, ctx.baseDir);
    const store = await storeFor(base, { ...(a.s3 === undefined ? {} : { s3: a.s3 }), ...(a.azure === undefined ? {} : { azure: a.azure }), timeoutMs: a.timeoutMs });
    await probeLake(store, base, a.retries, ctx.nodeId, 'archive.uri');
    const operator = createSelectForLabelling(o, ctx.metrics, Date.now, { images: new ImageArchive(store, `${base}/${a.prefix}`), retries: a.retries }, shared);
    return {
      ...operator,
      close: async () => {
        await store.close();
        await shared?.budget.close();
      },
    };
  },
});
