/**
 * The `kserve` backend: runs the model on a KServe v2 (Open Inference Protocol) server such as
 * NVIDIA Triton, over gRPC or HTTP with binary tensors (`src/inference/kserve/`).
 *
 * At creation it waits (with the client's retries) for the model to be ready, reads its metadata,
 * and its configuration where the server offers one (Triton), and checks them against the
 * manifest: a server that cannot be reached stops the start with INFERENCE_SERVER_UNAVAILABLE, a
 * model that differs with MODEL_METADATA_MISMATCH (a config error, exit 2) naming both sides. The
 * configuration's `max_batch_size` (else a `max_batch_size` metadata parameter) is the most images
 * one request carries; its dynamic batching and instances are logged. `run` sends the batch (split
 * where the server takes fewer images per request, with a warning the first time), at most
 * `maxInFlight` requests at once, and joins the answers into the onnx backend's output. Server
 * trouble stays retriable (INFERENCE_SERVER_UNAVAILABLE), so `infer` retries the batch and
 * dead-letters it only when that fails too; a refused request (INFERENCE_REQUEST_INVALID) goes to
 * the dead letter at once.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import path from 'node:path';
import { CentaurError } from '../core/errors.js';
import type { ErrorCode } from '../core/errors.js';
import { retry } from '../core/retry.js';
import type { BackendContext, InferenceBackend, InferenceOutput, KserveBackendOptions } from './backend.js';
import { assertModelMetadata, createKserveClient } from './kserve/index.js';
import { kserveOptionProblems } from './kserve-options.js';
import type { InputDatatype, KserveClient, KserveClientOptions, KserveConnection, ModelConfig, ModelMetadata, TlsMaterial } from './kserve/index.js';
import { Limiter } from '../core/limiter.js';
import { assertModelConfig, describeInstanceGroup } from './kserve/model-config.js';
import type { ModelConfigCheck } from './kserve/model-config.js';
import { batchInputs } from './kserve-input.js';
import type { InputPlan } from './kserve-input.js';
import { batchOutput } from './kserve-output.js';
import type { ChunkAnswer, OutputPlan } from './kserve-output.js';
import type { LoadedManifest } from './manifest.js';
import { InferenceServerMetrics } from './inference-metrics.js';

/** The defaults of the optional `kserve` options (Ajv does not fill defaults inside the `backend` union). */
export const KSERVE_DEFAULTS = { protocol: 'grpc', timeoutMs: 30_000, retries: 3, maxInFlight: 8 } as const;

/** Backoff between attempts at start and between retries of a request. */
const BACKOFF = { baseDelayMs: 100, maxDelayMs: 2_000 } as const;

/** Connects to the server named by `options`, checks its model against the manifest and returns the backend. */
export async function createKserveBackend(
  model: LoadedManifest,
  options: KserveBackendOptions,
  context: BackendContext = {},
): Promise<InferenceBackend> {
  const connection = connectionFor(options, context);
  const tls = await readTls(options, context);
  const client = await createKserveClient(tls === undefined ? connection : { ...connection, tls });
  try {
    return await startKserveBackend(model, options, client, context);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw error;
  }
}

/** The TLS files of `backend.tls`, read (paths relative to the topology file); undefined when TLS is not configured. */
export async function readTls(options: KserveBackendOptions, context: BackendContext = {}): Promise<TlsMaterial | undefined> {
  const tls = options.tls;
  if (tls === undefined) return undefined;
  const read = async (field: string, file: string | undefined): Promise<Buffer | undefined> => {
    if (file === undefined) return undefined;
    const where = path.resolve(context.baseDir ?? '.', file);
    try {
      return await readFile(where);
    } catch (error) {
      throw configError(context, `backend.tls.${field} ${where} cannot be read: ${(error as Error).message}`);
    }
  };
  const [ca, cert, key] = await Promise.all([read('caFile', tls.caFile), read('certFile', tls.certFile), read('keyFile', tls.keyFile)]);
  if (ca !== undefined && !ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----')) {
    // Node would take it and trust nothing more, failing every handshake later.
    throw configError(context, `backend.tls (${tls.caFile ?? ''}) cannot be used: it holds no PEM certificate`);
  }
  const material: TlsMaterial = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }) };
  try {
    // Unreadable PEM, or a key that is not the certificate's: said now, naming the files, not as an unreachable server later.
    createSecureContext(material);
  } catch (error) {
    const files = [tls.caFile, tls.certFile, tls.keyFile].filter((f) => f !== undefined).join(', ');
    throw configError(context, `backend.tls (${files}) cannot be used: ${(error as Error).message}`);
  }
  return material;
}

/**
 * The client's settings from the options: endpoint, deadline, retries, connections, retry logging
 * and metrics. The options are checked first (`kserveOptionProblems`: endpoint form, TLS against the
 * URL, certificate with key); TLS is only switched on here (gRPC): the files of `backend.tls` are
 * read by `readTls`, whose result `createKserveBackend` adds.
 */
export function connectionFor(options: KserveBackendOptions, context: BackendContext = {}): KserveConnection {
  const protocol = options.protocol ?? KSERVE_DEFAULTS.protocol;
  const timeoutMs = options.timeoutMs ?? KSERVE_DEFAULTS.timeoutMs;
  const maxInFlight = options.maxInFlight ?? KSERVE_DEFAULTS.maxInFlight;
  const endpoint = options.endpoint.trim();
  const { logger } = context;
  const metrics = context.metrics === undefined ? undefined : new InferenceServerMetrics(context.metrics, endpoint);
  const common: KserveClientOptions = {
    timeoutMs,
    healthTimeoutMs: Math.min(5_000, timeoutMs),
    retry: { attempts: (options.retries ?? KSERVE_DEFAULTS.retries) + 1, ...BACKOFF },
    ...(logger === undefined && metrics === undefined
      ? {}
      : {
          onRetry: (error: CentaurError, attempt: number, delayMs: number) => {
            metrics?.retry(error.code);
            logger?.warn({ code: error.code, error: error.message, attempt, delayMs: Math.round(delayMs) }, 'Inference request failed; retrying.');
          },
          onCircuit: (open: boolean) => {
            metrics?.circuitChanged(open);
            if (open) logger?.warn({ server: endpoint }, 'The inference server keeps failing: requests fail fast until a trial call succeeds.');
            else logger?.info({ server: endpoint }, 'The inference server answers again.');
          },
        }),
  };
  // `infer`'s validation refuses these before a topology runs; other callers hear the same.
  const problem = kserveOptionProblems(options)[0];
  if (problem !== undefined) throw configError(context, `${problem.message}; ${problem.suggestion}`);
  if (protocol === 'http') return { protocol, url: endpoint, maxConnections: maxInFlight, ...common };
  return {
    protocol,
    address: endpoint,
    // TLS on; the files' contents are added by createKserveBackend (readTls).
    ...(options.tls === undefined ? {} : { tls: true }),
    ...(options.grpcInfer === undefined ? {} : { inferVia: options.grpcInfer }),
    ...common,
  };
}

/**
 * Checks the server's model against the manifest through `client` (which the backend then owns)
 * and returns the backend; tests pass a fake client here.
 */
export async function startKserveBackend(
  model: LoadedManifest,
  options: KserveBackendOptions,
  client: KserveClient,
  context: BackendContext = {},
): Promise<InferenceBackend> {
  const { manifest } = model;
  const name = options.model ?? manifest.name;
  const version = options.version;
  const server = `${client.address} (${client.protocol})`;
  const described = version === undefined ? `\`${name}\`` : `\`${name}\` version ${version}`;
  const attempts = (options.retries ?? KSERVE_DEFAULTS.retries) + 1;

  await waitUntilReady(client, name, version, attempts, (problem) =>
    withNode(context, 'INFERENCE_SERVER_UNAVAILABLE', `KServe server ${server}: ${problem}`),
  );
  const read = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      const coded = error instanceof CentaurError ? error : new CentaurError('MODEL_LOAD_FAILED', String(error), { cause: error });
      // The server's trouble stays retriable; an answer it cannot give (or that is malformed) is a setup problem.
      const code: ErrorCode = coded.code === 'INFERENCE_SERVER_UNAVAILABLE' ? coded.code : 'MODEL_LOAD_FAILED';
      throw withNode(context, code, `cannot read the ${what} of model ${described}: ${coded.message}`, coded);
    }
  };
  const metadata: ModelMetadata = await read('metadata', () => client.modelMetadata(name, version));
  // Null where the server does not offer it (anything but Triton): the metadata alone is checked.
  const config: ModelConfig | null = await read('configuration', async () => (client.modelConfig === undefined ? null : client.modelConfig(name, version)));
  const sides = { server, manifestFile: path.join(model.dir, 'manifest.json') };
  let configCheck: ModelConfigCheck | undefined;
  let checked: ReturnType<typeof assertModelMetadata>;
  try {
    // The configuration first: its problems name the config.pbtxt fields to change.
    configCheck = config === null ? undefined : assertModelConfig(manifest, config, sides);
    checked = assertModelMetadata(manifest, metadata, sides, { batchOfOne: configCheck?.batchOfOne === true });
  } catch (error) {
    const coded = error as CentaurError;
    throw withNode(context, coded.code, coded.message, coded);
  }
  const datatype = chooseDatatype(options.inputDatatype, checked.inputDatatype, model, context);
  // The configuration's limit where there is one (undefined there: no limit), else the metadata's.
  const maxRows = configCheck === undefined ? checked.maxBatchSize : configCheck.maxRows;

  const inputPlan: InputPlan = { name: manifest.input.name, datatype, scale: manifest.input.scale, maxRows };
  const outputPlan: OutputPlan = {
    probabilities: manifest.outputs.probabilities,
    embedding: manifest.outputs.embedding,
    classes: manifest.classes.length,
  };
  const outputs = outputPlan.embedding === undefined ? [outputPlan.probabilities] : [outputPlan.probabilities, outputPlan.embedding];
  const limiter = new Limiter(options.maxInFlight ?? KSERVE_DEFAULTS.maxInFlight);
  const timeoutMs = options.timeoutMs ?? KSERVE_DEFAULTS.timeoutMs;
  const description = `kserve ${client.protocol} ${client.address} model ${name}${version === undefined ? '' : ` version ${version}`} (${datatype})`;
  context.logger?.info(
    {
      server,
      model: name,
      ...(version === undefined ? {} : { version }),
      versions: metadata.versions,
      platform: metadata.platform,
      inputDatatype: datatype,
      ...(maxRows === undefined ? {} : { maxBatchSize: maxRows }),
      ...(config === null ? { modelConfig: 'not offered' } : configSummary(config)),
    },
    'Inference server ready; its model matches the manifest.',
  );
  if (datatype === 'FP16') {
    context.logger?.info(
      { inputDatatype: datatype },
      'Pixels travel as FP16: batches packed as float16 (micro-batch with `dtype: auto`, the default, or `float16`) go as they are; float32 batches are converted per request.',
    );
  }
  let closed = false;
  let warnedSplit = false;

  return {
    name: 'kserve',
    description,
    // A float32 model's pixels go as float32 or float16 (converted or widened per request); the one the server takes first.
    ...(manifest.input.dtype === 'float32' ? { batchDtypes: datatype === 'FP16' ? (['float16', 'float32'] as const) : (['float32', 'float16'] as const) } : {}),
    ...(maxRows === undefined ? {} : { maxBatchRows: maxRows }),
    async run(batch): Promise<InferenceOutput> {
      if (closed) throw new CentaurError('INFERENCE_FAILED', 'the kserve backend is closed', { retriable: false });
      const chunks = batchInputs(batch, inputPlan);
      if (chunks.length > 1 && !warnedSplit && maxRows !== undefined) {
        warnedSplit = true;
        context.logger?.warn(
          { images: batch.shape[0], requests: chunks.length, maxBatchSize: maxRows, from: config === null ? 'model metadata' : 'model configuration' },
          `Batches of ${batch.shape[0]} images are larger than the server's max_batch_size ${maxRows}, so each goes out as ${chunks.length} requests; set the micro-batch \`maxSize\` (and infer's \`maxBatchSize\`) to at most ${maxRows}, or raise max_batch_size on the server.`,
        );
      }
      // allSettled: no request may still be reading the caller's buffer once this call settles.
      const settled = await Promise.allSettled(
        chunks.map(async (chunk): Promise<ChunkAnswer> => {
          const response = await limiter.run(() =>
            client.infer({ model: name, ...(version === undefined ? {} : { version }), inputs: [chunk.input], outputs, timeoutMs }),
          );
          return { rows: chunk.rows, response };
        }),
      );
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
      const answers = settled.map((s) => (s as PromiseFulfilledResult<ChunkAnswer>).value);
      try {
        return batchOutput(answers, outputPlan);
      } catch (error) {
        const coded = error as CentaurError;
        throw new CentaurError(coded.code, `KServe server ${server}: model ${described}: ${coded.message}`, { cause: coded, retriable: false });
      }
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await client.close();
    },
  };
}

/** The configuration's batching and instances, as log fields. */
function configSummary(config: ModelConfig): Record<string, unknown> {
  const batching = config.dynamicBatching;
  return {
    modelConfig: { platform: config.platform || config.backend, maxBatchSize: config.maxBatchSize },
    dynamicBatching:
      batching === undefined
        ? 'off'
        : { preferredBatchSizes: batching.preferredBatchSizes, maxQueueDelayMicroseconds: batching.maxQueueDelayMicroseconds },
    instanceGroups: config.instanceGroups.map(describeInstanceGroup),
  };
}

/**
 * Waits for the model to be ready, with the client's attempts and backoff; then throws (through
 * `fail`) saying whether the server could not be reached or answered that the model is not ready.
 */
async function waitUntilReady(
  client: KserveClient,
  name: string,
  version: string | undefined,
  attempts: number,
  fail: (problem: string) => CentaurError,
): Promise<void> {
  const described = version === undefined ? `\`${name}\`` : `\`${name}\` version ${version}`;
  const started = Date.now();
  await retry(
    async () => {
      if (await client.modelReady(name, version)) return;
      const tried = (n: number): string => `after ${n} attempt${n === 1 ? '' : 's'} in ${((Date.now() - started) / 1000).toFixed(1)} s`;
      if (!(await client.live())) {
        const why = client.lastProbeError === undefined ? '' : `: ${client.lastProbeError}`;
        throw fail(`cannot be reached (${tried(attempts)})${why}; is it running, and are \`backend.endpoint\` and \`backend.tls\` right?`);
      }
      throw fail(
        `model ${described} is not ready (${tried(attempts)}); check \`backend.model\`${version === undefined ? '' : ' and `backend.version`'} (default: the manifest's name), or wait until the server has loaded it`,
      );
    },
    { attempts, ...BACKOFF },
  );
}

/** The datatype the pixels travel as: the option when it can carry the manifest's input, else the server's. */
function chooseDatatype(
  forced: InputDatatype | undefined,
  served: InputDatatype,
  model: LoadedManifest,
  context: BackendContext,
): InputDatatype {
  if (forced === undefined || forced === served) return served;
  const { input } = model.manifest;
  if (input.dtype === 'uint8' && forced !== 'UINT8') {
    throw configError(context, `backend.inputDatatype ${forced} cannot carry the uint8 input of ${model.manifest.name}; use UINT8 or leave it out`);
  }
  context.logger?.info(
    { inputDatatype: forced, serverDatatype: served },
    forced === 'UINT8'
      ? `Sending raw pixels as UINT8 though the server's input is ${served}: the server must scale them itself (\`${input.scale}\`).`
      : `Sending ${forced} though the server's input is ${served}.`,
  );
  return forced;
}

function configError(context: BackendContext, message: string): CentaurError {
  return withNode(context, 'CONFIG_INVALID', message);
}

/** A coded error whose message starts with the node, as the other components' start-up errors do. */
function withNode(context: BackendContext, code: ErrorCode, message: string, cause?: CentaurError): CentaurError {
  const text = context.nodeId === undefined ? message : `node \`${context.nodeId}\`: ${message}`;
  return new CentaurError(code, text, cause === undefined ? undefined : { cause });
}
