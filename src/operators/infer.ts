/**
 * `infer`: runs a classifier on batches (or single envelopes) and writes each envelope's
 * prediction, embedding and model version. Batches packed by `micro-batch` run as they are (split
 * into `maxBatchSize` chunks); anything else is packed here from the decoded images. A bounded
 * number of batches run at once, in order. A failing backend is retried with exponential backoff;
 * after the last try the batch's envelopes are dead-lettered and the stream goes on. With a model
 * registry, the node follows an alias and swaps versions while running (see model-follower.ts):
 * batches in flight finish on the version they started with.
 */
import path from 'node:path';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { EMPTY, mergeMap, of } from 'rxjs';
import type { Observable, SchedulerLike } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { BatchWish, CreateContext, Operator, OperatorContext, OptionProblem } from '../core/component.js';
import { envelopesOf, isBatch } from '../core/envelope.js';
import type { Batch, BatchTensor, Envelope, ImageTensor, Item } from '../core/envelope.js';
import { CentaurError, toCentaurError } from '../core/errors.js';
import { NO_METRICS } from '../core/metric-family.js';
import type { NodeMetrics } from '../core/metric-family.js';
import { INFERENCE_FAMILIES, InferenceMetrics } from '../inference/inference-metrics.js';
import { BackendOptions } from '../inference/backend.js';
import { createBackend } from '../inference/create-backend.js';
import type { InferenceBackend, InferenceOutput } from '../inference/backend.js';
import { kserveOptionProblems } from '../inference/kserve-options.js';
import { loadManifest } from '../inference/manifest.js';
import type { LoadedManifest, Manifest } from '../inference/manifest.js';
import { ModelFollower, swapProblem } from '../inference/model-follower.js';
import { ModelSlot } from '../inference/model-slot.js';
import { ShadowPromotion } from '../inference/shadow-promotion.js';
import { ShadowRunner } from '../inference/shadow-runner.js';
import type { ModelInstance } from '../inference/model-slot.js';
import { openRegistry } from '../registry/open-registry.js';
import { StoreConnectionFields } from '../storage/store-options.js';
import { describeImageShape, packBatch } from '../tensors/pack-batch.js';
import type { BatchShape } from '../tensors/pack-batch.js';
import { concurrentMap } from '../rx/concurrent-map.js';
import { TensorPool, dtypeOf } from '../tensors/tensor-pool.js';
import type { TensorPoolStats } from '../tensors/tensor-pool.js';

/** Options of `infer`; defaults live in the schema (the runtime fills them in). */
export const InferOptions = Type.Object(
  {
    model: Type.Object(
      {
        path: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'Folder holding `manifest.json` and the model file, relative to the topology file (or use `registry`).',
          }),
        ),
        registry: Type.Optional(
          Type.String({ minLength: 1, description: 'Model registry: a folder relative to the topology file, an `s3://` / `azure://` prefix, or MLflow\'s Model Registry as `mlflow+http://host:port` (aliases are MLflow\'s; credentials from `MLFLOW_TRACKING_TOKEN` or `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD`) (with `name`; instead of `path`).' }),
        ),
        ...StoreConnectionFields,
        name: Type.Optional(Type.String({ minLength: 1, description: 'Model name in the registry.' })),
        alias: Type.Optional(Type.String({ minLength: 1, description: 'Registry alias (or version) to serve, default `production`; when the alias moves, the node swaps to the new version without a restart.' })),
        pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100, description: 'How often the registry alias is checked, in milliseconds (default 5000).' })),
      },
      { additionalProperties: false, description: 'Which model to serve: a model folder (`path`) or a registry alias (`registry`, `name`, `alias`).' },
    ),
    backend: BackendOptions,
    shadow: Type.Optional(
      Type.Object(
        {
          alias: Type.String({ minLength: 1, description: 'Registry alias of the candidate version, e.g. `candidate`.' }),
          sampleRatio: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.1, description: 'Share of batches the candidate also runs.' }),
          maxInFlight: Type.Integer({ minimum: 1, default: 1, description: 'Candidate batches running at once; a sampled batch is skipped (and counted) when the candidate is busy.' }),
          promote: Type.Optional(
            Type.Object(
              {
                minInputs: Type.Integer({ minimum: 1, default: 1000, description: 'Inputs of the classes the serving version knows that the candidate must answer before the verdict.' }),
                minAgreement: Type.Number({ minimum: 0, maximum: 1, default: 0.95, description: 'Least share of them on which the candidate names the serving version\'s top class.' }),
              },
              {
                additionalProperties: false,
                description:
                  'Promotion after a shadow period: once the candidate answered `minInputs` inputs of known classes, move the served alias (`model.alias`) to it when it agreed on `minAgreement` of them, else reject it (logged, `centaur_shadow_verdicts_total`); inputs it puts in a new class are counted apart.',
              },
            ),
          ),
        },
        {
          additionalProperties: false,
          description: 'Shadow mode (with `model.registry`): run a candidate version beside the serving one on sampled batches and record agreement and latency as metrics, without affecting outputs.',
        },
      ),
    ),
    maxBatchesInFlight: Type.Integer({
      minimum: 1,
      default: 2,
      description: 'Batches running at once (output order is kept); 2 lets packing overlap inference.',
    }),
    maxBatchSize: Type.Integer({
      minimum: 1,
      default: 64,
      description: 'Largest batch handed to the backend; bigger batches are split into runs of this size.',
    }),
    retryWindowMs: Type.Integer({
      minimum: 0,
      default: 60_000,
      description:
        'How long a batch the backend could not run for a passing reason (the inference server unreachable, restarting or overloaded) is retried, with backoff from 50 ms up to 2 s, before its inputs become dead letters (INFERENCE_SERVER_UNAVAILABLE); at least 3 retries are made. ' +
        'While batches wait, the in-flight limit pauses the sources, so a server restart within the window dead-letters nothing.',
    }),
    includeEmbedding: Type.Boolean({
      default: true,
      description: "Store the model's embedding on each envelope (needed for drift and retraining).",
    }),
  },
  { additionalProperties: false },
);
export type InferOptions = Static<typeof InferOptions>;

/** Least retries after the first failure of a batch, the first backoff delay (doubled each retry) and the longest one. */
export const INFER_RETRIES = 3;
export const INFER_BACKOFF_BASE_MS = 50;
export const INFER_BACKOFF_MAX_MS = 2_000;

/** The created operator: which model and backend it runs, and its packing-pool counters. */
export interface InferOperator extends Operator {
  /** The manifest of the version new batches run on. */
  readonly manifest: Manifest;
  /** e.g. "onnxruntime-node 1.30.0 (cpu, default threads)", for the runtime's start-up line. */
  readonly backendDescription: string;
  /** Counters of the pool used when `infer` packs images itself. */
  poolStats(): TensorPoolStats;
  close(): Promise<void>;
}

/** The backend description of an `infer` operator, or undefined for any other operator. */
export function describeInfer(op: Operator): string | undefined {
  const description = (op as Partial<InferOperator>).backendDescription;
  return typeof description === 'string' ? description : undefined;
}

/** What one input item became: the predicted envelopes and the failed ones, reported in order. */
interface Outcome {
  readonly done: Envelope[];
  readonly failed: { envelope: Envelope; error: CentaurError }[];
}

/** Builds the operator around an already created backend (tests inject fakes here). */
export function createInferWithBackend(
  model: LoadedManifest,
  backend: InferenceBackend,
  options: Pick<InferOptions, 'maxBatchesInFlight' | 'maxBatchSize' | 'includeEmbedding'> & Partial<Pick<InferOptions, 'retryWindowMs'>>,
  metrics: NodeMetrics = NO_METRICS,
): InferOperator {
  return createInferWithSlot(new ModelSlot({ model, backend }), options, new InferenceMetrics(metrics));
}

/** Builds the operator around a model slot, optionally kept current by a registry follower. */
export function createInferWithSlot(
  slot: ModelSlot,
  options: Pick<InferOptions, 'maxBatchesInFlight' | 'maxBatchSize' | 'includeEmbedding'> & Partial<Pick<InferOptions, 'retryWindowMs'>>,
  metrics: InferenceMetrics = new InferenceMetrics(),
  follower?: ModelFollower,
  shadow?: { runner: ShadowRunner; follower?: ModelFollower },
): InferOperator {
  // Every version a slot holds takes the same input (the follower refuses others).
  const { manifest } = slot.current.model;
  const { input } = manifest;
  const { maxBatchesInFlight, maxBatchSize, includeEmbedding } = options;
  const retryWindowMs = options.retryWindowMs ?? 0;
  // Once closed (the run has ended), batches waiting for the server give up: their inputs are read again.
  let closed = false;
  const perImage = input.width * input.height * input.channels;
  const expectedShape: BatchShape =
    input.layout === 'NHWC' ? [0, input.height, input.width, input.channels] : [0, input.channels, input.height, input.width];
  // Created on first use: a topology that batches upstream never needs it.
  let pool: TensorPool | null = null;
  metrics.modelVersion(manifest.name, manifest.version);

  const annotate = (envelopes: readonly Envelope[], out: InferenceOutput, instance: ModelInstance): void => {
    const m = instance.model.manifest;
    const classes = m.classes;
    const modelRef = { name: m.name, version: m.version, classes, fingerprint: instance.model.fingerprint };
    const k = classes.length;
    for (let i = 0; i < envelopes.length; i += 1) {
      const envelope = envelopes[i] as Envelope;
      const row = out.probabilities.subarray(i * k, (i + 1) * k);
      let best = 0;
      for (let j = 1; j < k; j += 1) if ((row[j] as number) > (row[best] as number)) best = j;
      envelope.prediction = {
        label: classes[best] as string,
        classIndex: best,
        confidence: row[best] as number,
        probabilities: Array.from(row),
      };
      if (includeEmbedding && out.embedding !== null) {
        const d = out.embeddingSize;
        envelope.embedding = out.embedding.slice(i * d, (i + 1) * d);
      }
      envelope.model = modelRef;
      if (envelope.tensor !== undefined) {
        envelope.sizeBytes = Math.max(0, envelope.sizeBytes - envelope.tensor.data.byteLength);
        envelope.tensor = undefined;
      }
    }
  };

  /** Runs `tensor` (rows for `envelopes`), filing the envelopes as done or failed. */
  const runChunk = async (
    envelopes: Envelope[],
    tensor: BatchTensor,
    scheduler: SchedulerLike,
    outcome: Outcome,
  ): Promise<void> => {
    const lease = slot.lease();
    try {
      const started = performance.now();
      const { backend, model } = lease.instance;
      const out = await runWithRetry(backend, tensor, scheduler, retryWindowMs, () => closed);
      metrics.inference(model.manifest.name, model.manifest.version, envelopes.length, (performance.now() - started) / 1000);
      shadow?.runner.offer(tensor, out, model.manifest.classes, model.manifest.version);
      annotate(envelopes, out, lease.instance);
      outcome.done.push(...envelopes);
    } catch (error) {
      const coded = toCentaurError(error, 'INFERENCE_FAILED');
      for (const envelope of envelopes) outcome.failed.push({ envelope, error: coded });
    } finally {
      lease.release();
    }
  };

  /** A packed batch from `micro-batch`: check it against the model input, then run it in chunks. */
  const runPacked = async (batch: Batch & { tensor: BatchTensor }, ctx: OperatorContext, outcome: Outcome): Promise<void> => {
    const { envelopes, tensor } = batch;
    try {
      const problem =
        packedTensorProblem(tensor, envelopes.length, manifest, expectedShape) ??
        envelopes.map((e) => scaleProblem(e.tensor, manifest.input)).find((p) => p !== null) ??
        null;
      if (problem !== null) {
        const error = new CentaurError('TENSOR_SHAPE_MISMATCH', problem);
        for (const envelope of envelopes) outcome.failed.push({ envelope, error });
        return;
      }
      const [, d1, d2, d3] = tensor.shape;
      for (let start = 0; start < envelopes.length; start += maxBatchSize) {
        const n = Math.min(maxBatchSize, envelopes.length - start);
        const view: BatchTensor = {
          data: tensor.data.subarray(start * perImage, (start + n) * perImage),
          shape: [n, d1, d2, d3],
          layout: tensor.layout,
          release: noop,
        };
        await runChunk(envelopes.slice(start, start + n), view, ctx.scheduler, outcome);
      }
    } finally {
      tensor.release();
    }
  };

  /** Single envelopes or a tensorless batch: pack the decoded images here, chunk by chunk. */
  const runUnpacked = async (envelopes: readonly Envelope[], ctx: OperatorContext, outcome: Outcome): Promise<void> => {
    const ready: Envelope[] = [];
    for (const envelope of envelopes) {
      const problem = imageProblem(envelope.tensor, input);
      if (problem === null) ready.push(envelope);
      else outcome.failed.push({ envelope, error: new CentaurError('TENSOR_SHAPE_MISMATCH', problem) });
    }
    for (let start = 0; start < ready.length; start += maxBatchSize) {
      const chunk = ready.slice(start, start + maxBatchSize);
      pool ??= new TensorPool(input.dtype, perImage * maxBatchSize, maxBatchesInFlight);
      const data = pool.acquire();
      try {
        const shape = packBatch(
          chunk.map((e) => e.tensor as ImageTensor),
          data,
          input.layout,
          input.dtype,
        );
        await runChunk(chunk, { data, shape, layout: input.layout, release: noop }, ctx.scheduler, outcome);
      } finally {
        pool.release(data);
      }
    }
  };

  const processItem = async (item: Item, ctx: OperatorContext): Promise<Outcome> => {
    const started = performance.now();
    const outcome: Outcome = { done: [], failed: [] };
    if (isBatch(item) && item.tensor !== null) {
      await runPacked(item as Batch & { tensor: BatchTensor }, ctx, outcome);
    } else {
      await runUnpacked(envelopesOf(item), ctx, outcome);
    }
    const elapsed = performance.now() - started;
    for (const envelope of outcome.done) envelope.timings[ctx.nodeId] = elapsed;
    return outcome;
  };

  follower?.start();
  shadow?.follower?.start();
  return {
    accepts: 'any',
    get manifest() {
      return slot.current.model.manifest;
    },
    get backendDescription() {
      return slot.current.backend.description;
    },
    // For the micro-batch upstream: what it packs with `dtype: auto`, and what it is checked against; read once, when the graph is wired.
    batchWish: (): BatchWish => {
      const { backend, model } = slot.current;
      const { input: wanted, name, version } = model.manifest;
      const accepts = backend.batchDtypes ?? [wanted.dtype];
      const maxRows = backend.maxBatchRows === undefined ? maxBatchSize : Math.min(maxBatchSize, backend.maxBatchRows);
      return { who: `model ${name} ${version} on ${backend.description}`, dtype: accepts[0] ?? wanted.dtype, accepts, layout: wanted.layout, maxRows };
    },
    apply: (source: Observable<Item>, ctx: OperatorContext): Observable<Item> =>
      source.pipe(
        concurrentMap((item: Item) => processItem(item, ctx), maxBatchesInFlight),
        // Dead letters are reported in input order, from the subscriber, never after unsubscription.
        mergeMap((outcome): Observable<Item> => {
          for (const { envelope, error } of outcome.failed) ctx.fail(envelope, error);
          if (outcome.done.length === 0) return EMPTY;
          const batch: Batch = { kind: 'batch', envelopes: outcome.done, tensor: null };
          return of(batch);
        }),
      ),
    poolStats: () => pool?.stats() ?? { size: 0, outstanding: 0, allocatedBeyondPool: 0 },
    close: async () => {
      closed = true;
      await follower?.stop();
      await shadow?.follower?.stop();
      await shadow?.runner.close();
      await slot.close();
    },
  };
}

/** Loads the model (a folder, or a registry alias it then follows) and builds the operator. */
export async function createInfer(
  options: InferOptions,
  ctx: Pick<CreateContext, 'baseDir' | 'metrics'> & Partial<Pick<CreateContext, 'nodeId' | 'logger'>>,
): Promise<InferOperator> {
  const m = options.model;
  const node = ctx.nodeId ?? 'infer';
  const start = (model: LoadedManifest): Promise<InferenceBackend> => createBackend(options.backend, model, { nodeId: ctx.nodeId, logger: ctx.logger, baseDir: ctx.baseDir, metrics: ctx.metrics });
  if (m.path !== undefined) {
    const model = await loadManifest(path.resolve(ctx.baseDir, m.path));
    return createInferWithBackend(model, await start(model), options, ctx.metrics);
  }
  if (m.registry === undefined || m.name === undefined) {
    // Unreachable for validated options (`inferProblems`).
    throw new CentaurError('INTERNAL', `node \`${node}\`: ${MODEL_MESSAGE}`);
  }
  const registry = await openRegistry(m.registry, ctx.baseDir, { ...(m.s3 === undefined ? {} : { s3: m.s3 }), ...(m.azure === undefined ? {} : { azure: m.azure }) });
  const name = m.name;
  const alias = m.alias ?? 'production';
  const model = await registry.load(name, alias);
  const slot = new ModelSlot({ model, backend: await start(model) }, (error, instance) =>
    ctx.logger?.warn({ node, version: instance.model.manifest.version, error: (error as Error).message }, 'Closing a retired model version failed.'),
  );
  const metrics = new InferenceMetrics(ctx.metrics ?? NO_METRICS);
  const follower = ctx.logger === undefined
    ? undefined
    : new ModelFollower({
        registry,
        model: name,
        alias,
        pollIntervalMs: m.pollIntervalMs ?? 5000,
        slot,
        createBackend: start,
        onSwap: (_from, to) => metrics.modelVersion(to.name, to.version),
        logger: ctx.logger,
      });
  let shadow: { runner: ShadowRunner; follower?: ModelFollower } | undefined;
  if (options.shadow !== undefined) {
    const s = options.shadow;
    // No candidate yet (before the first retraining): the candidate slot starts on the serving version and stays idle until the alias exists.
    const candidate = await registry.load(name, s.alias).catch((error: unknown) => {
      if (error instanceof CentaurError && error.code === 'MODEL_NOT_FOUND') {
        ctx.logger?.info({ node, model: name, alias: s.alias }, 'No candidate version yet: shadow mode waits for the alias.');
        return model;
      }
      throw error;
    });
    const problem = swapProblem(model.manifest, candidate.manifest);
    if (problem !== null) throw new CentaurError('MODEL_LOAD_FAILED', `node \`${node}\`: shadow ${name} version ${candidate.manifest.version} cannot run beside version ${model.manifest.version}: ${problem}`);
    const candidateSlot = new ModelSlot({ model: candidate, backend: await start(candidate) });
    const p = s.promote;
    const gate =
      p === undefined
        ? undefined
        : new ShadowPromotion(
            { minInputs: p.minInputs, minAgreement: p.minAgreement },
            async (version, reason) => {
              await registry.setAlias(name, alias, version, { reason });
              void follower?.check();
            },
            (verdict) => metrics.shadowVerdict(name, verdict.version, verdict.verdict),
            ctx.logger,
          );
    const runner = new ShadowRunner(
      candidateSlot,
      s.sampleRatio ?? 0.1,
      s.maxInFlight ?? 1,
      {
        compared: (shadowModel, version, servingVersion, rows, seconds) => {
          metrics.shadowCompared(shadowModel, version, rows, seconds);
          void gate?.compared(version, servingVersion, rows.agreed, rows.disagreed, rows.newClass);
        },
        skipped: (reason) => metrics.shadowSkip(reason),
      },
      ctx.logger,
    );
    shadow = {
      runner,
      ...(ctx.logger === undefined
        ? {}
        : { follower: new ModelFollower({ registry, model: name, alias: s.alias, pollIntervalMs: m.pollIntervalMs ?? 5000, slot: candidateSlot, createBackend: start, onSwap: () => undefined, logger: ctx.logger }) }),
    };
  }
  return createInferWithSlot(slot, options, metrics, follower, shadow);
}

const MODEL_MESSAGE = 'give `model.path`, or `model.registry` with `model.name` (and `alias`)';

/** The rules between options the schema cannot say (which model, shadow, the kserve endpoint); see the spec's `validate`. */
function inferProblems(o: InferOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const m = o.model;
  if (m.path !== undefined && m.registry !== undefined) {
    problems.push({ path: ['model', 'registry'], message: MODEL_MESSAGE, suggestion: 'remove `model.registry` to serve the folder, or `model.path` to follow the registry' });
  } else if (m.path === undefined && m.registry === undefined) {
    problems.push({ path: ['model'], message: MODEL_MESSAGE, suggestion: 'add `path: <model folder>`' });
  } else if (m.registry !== undefined && m.name === undefined) {
    problems.push({ path: ['model', 'registry'], message: MODEL_MESSAGE, suggestion: 'add `model.name`: the model in the registry' });
  }
  if (o.shadow !== undefined && m.registry === undefined) {
    problems.push({ path: ['shadow'], message: '`shadow` needs `model.registry` (the candidate is a registry alias)', suggestion: 'serve the model from a registry (`model.registry`, `model.name`), or remove `shadow`' });
  }
  if (o.backend.kind === 'kserve') {
    for (const p of kserveOptionProblems(o.backend)) problems.push({ path: ['backend', ...p.path], message: p.message, suggestion: p.suggestion });
  }
  return problems;
}

/** The `infer` operator spec. */
export const infer = defineOperator({
  kind: 'infer',
  role: 'operator',
  description:
    'Runs an image classifier (onnxruntime in process, or a KServe v2 / Triton server) on batches and sets prediction, embedding and model on each envelope.',
  stability: 'beta',
  options: InferOptions,
  examples: [
    { title: 'A model folder, in process with onnxruntime', options: { model: { path: 'models/demo' } } },
    {
      title: 'The production alias of a registry, on a Triton server over gRPC',
      options: { model: { registry: 's3://models/registry', name: 'horse-or-human', alias: 'production' }, backend: { kind: 'kserve', endpoint: '127.0.0.1:8001' } },
    },
  ],
  metrics: INFERENCE_FAMILIES,
  validate: (o) => inferProblems(o),
  create: (options, ctx) => createInfer(options, ctx),
});

/**
 * Runs a batch, retrying retriable failures with capped exponential backoff on `scheduler`: at
 * least INFER_RETRIES times, and on until `windowMs` has passed since the first try (or `closed()`).
 */
async function runWithRetry(backend: InferenceBackend, tensor: BatchTensor, scheduler: SchedulerLike, windowMs: number, closed: () => boolean): Promise<InferenceOutput> {
  const started = scheduler.now();
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await backend.run(tensor);
    } catch (error) {
      const coded = toCentaurError(error, 'INFERENCE_FAILED');
      const spent = attempt >= INFER_RETRIES && scheduler.now() - started >= windowMs;
      if (!coded.retriable || spent || closed()) throw coded;
      await sleep(Math.min(INFER_BACKOFF_MAX_MS, INFER_BACKOFF_BASE_MS * 2 ** attempt), scheduler);
    }
  }
}

function sleep(ms: number, scheduler: SchedulerLike): Promise<void> {
  return new Promise((resolve) => {
    scheduler.schedule(() => resolve(), ms);
  });
}

function noop(): void {}

/** Why a packed batch tensor cannot feed this model, or null when it can. */
function packedTensorProblem(tensor: BatchTensor, rows: number, manifest: Manifest, expected: BatchShape): string | null {
  const { input } = manifest;
  const [n, d1, d2, d3] = tensor.shape;
  const dtype = dtypeOf(tensor.data);
  // Float16 is the float32 input rounded to half precision: the backend sends it (kserve) or refuses it.
  const dtypeFits = dtype === input.dtype || (dtype === 'float16' && input.dtype === 'float32');
  const want = `${input.layout} ${input.dtype} [n, ${expected.slice(1).join(', ')}]`;
  const got = `${tensor.layout} ${dtype} [${tensor.shape.join(', ')}]`;
  if (tensor.layout !== input.layout || !dtypeFits || d1 !== expected[1] || d2 !== expected[2] || d3 !== expected[3]) {
    return `batch tensor is ${got}; model ${manifest.name} wants ${want} (set layout/dtype on micro-batch and size on decode-image)`;
  }
  if (n !== rows) return `batch tensor has ${n} rows for ${rows} envelopes`;
  return null;
}

/** Why an envelope's decoded image cannot feed this model, or null when it can. */
function imageProblem(tensor: ImageTensor | undefined, input: Manifest['input']): string | null {
  if (tensor === undefined) return 'no decoded image; add decode-image upstream';
  if (
    tensor.width !== input.width ||
    tensor.height !== input.height ||
    tensor.channels !== input.channels ||
    tensor.data.length !== input.width * input.height * input.channels
  ) {
    return `image is ${describeImageShape(tensor)} with ${tensor.data.length} bytes; the model wants ${describeImageShape(input)}`;
  }
  return scaleProblem(tensor, input);
}

/** Serving must scale pixels as training did; a float model fed another scaling predicts nonsense. */
function scaleProblem(tensor: ImageTensor | undefined, input: Manifest['input']): string | null {
  if (tensor === undefined || input.dtype === 'uint8' || tensor.scale === input.scale) return null;
  return `image is scaled \`${tensor.scale}\` but the model was trained on \`${input.scale}\`; set \`scale: ${input.scale}\` on decode-image`;
}
