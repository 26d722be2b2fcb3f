/**
 * Chooses and starts the TensorFlow.js engine the `tfjs` backend runs on. `auto` tries
 * `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node` (both optional: they are imported
 * only when the user has installed them, since their installers download libtensorflow), then
 * `@tensorflow/tfjs-backend-wasm` (its binaries ship inside the npm package and are loaded from its
 * own `dist/` folder, never from a CDN), then the pure JavaScript `cpu` backend.
 *
 * TF.js keeps one engine per process (its registry is global), so the first `tfjs` backend picks
 * the engine and later ones share it: `auto` takes whatever already runs, and an explicit engine
 * that differs from the running one is refused with MODEL_LOAD_FAILED.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as TfWasm from '@tensorflow/tfjs-backend-wasm';
import type * as TfConverter from '@tensorflow/tfjs-converter';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { CentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** An engine the backend can run on, fastest first. */
export type TfjsEngineName = 'node-gpu' | 'node' | 'wasm' | 'cpu';

/** The `engine` option: one engine, or `auto` for the first one that loads. */
export type TfjsEngineChoice = 'auto' | TfjsEngineName;

/** The TF.js functions the backend uses; the bundled packages and tfjs-node both provide them. */
export interface TfApi {
  /** tfjs-core: tensors, tidy/dispose, memory, io. */
  readonly core: typeof TfCore;
  readonly loadGraphModel: typeof TfConverter.loadGraphModel;
  readonly loadLayersModel: typeof TfLayers.loadLayersModel;
}

/** A started engine. */
export interface TfjsEngine {
  readonly name: TfjsEngineName;
  readonly tf: TfApi;
  /** e.g. "tfjs 4.22.0 wasm (simd, 1 thread)". */
  readonly description: string;
}

/** What the engine choice may use besides the option itself. */
export interface TfjsEngineRequest {
  readonly engine: TfjsEngineChoice;
  /** XNNPACK threads for wasm; unset: one per core (where the wasm build can run threads). */
  readonly threads?: number;
  readonly logger?: Logger;
  /** Module loader; tests replace it to pretend a package is absent or broken. */
  readonly importModule?: (specifier: string) => Promise<unknown>;
}

/** The engines `auto` tries, in order. */
export const AUTO_ORDER: readonly TfjsEngineName[] = ['node-gpu', 'node', 'wasm', 'cpu'];

const NODE_PACKAGES = { 'node-gpu': '@tensorflow/tfjs-node-gpu', node: '@tensorflow/tfjs-node' } as const;

let running: Promise<TfjsEngine> | null = null;

/** Returns the process's TF.js engine, starting the requested one (or the first that loads, for `auto`) if none runs yet. */
export async function selectTfjsEngine(request: TfjsEngineRequest): Promise<TfjsEngine> {
  const load = request.importModule ?? defaultImport;
  if (running !== null) {
    const current = await running.catch(() => null);
    if (current !== null) {
      // An absent package is the clearer message, whatever runs already.
      if (request.engine === 'node' || request.engine === 'node-gpu') await requireInstalled(request.engine, load);
      return reuse(current, request);
    }
  }
  const starting = start(request, load);
  running = starting;
  try {
    return await starting;
  } catch (error) {
    if (running === starting) running = null;
    throw error;
  }
}

/** The running engine, if a `tfjs` backend started one (for tests and status). */
export async function runningTfjsEngine(): Promise<TfjsEngine | null> {
  return running === null ? null : running.catch(() => null);
}

function reuse(current: TfjsEngine, request: TfjsEngineRequest): TfjsEngine {
  if (request.engine !== 'auto' && request.engine !== current.name) {
    throw new CentaurError(
      'MODEL_LOAD_FAILED',
      `backend.engine is \`${request.engine}\`, but this process already runs TF.js on \`${current.name}\` (${current.description}); TF.js has one engine per process: set \`engine: ${current.name}\` or \`engine: auto\` on every tfjs backend`,
    );
  }
  return current;
}

async function start(request: TfjsEngineRequest, load: (specifier: string) => Promise<unknown>): Promise<TfjsEngine> {
  if (request.engine !== 'auto') return startOne(request.engine, request, load);
  const skipped: string[] = [];
  for (const name of AUTO_ORDER) {
    try {
      const engine = await startOne(name, request, load);
      request.logger?.info({ engine: name, description: engine.description, ...(skipped.length > 0 ? { skipped } : {}) }, `TF.js runs on ${engine.description}.`);
      return engine;
    } catch (error) {
      const reason = error instanceof NotInstalled ? 'not installed' : messageOf(error instanceof CentaurError && error.cause !== undefined ? error.cause : error);
      skipped.push(`${name}: ${reason}`);
      if (!(error instanceof NotInstalled)) {
        request.logger?.warn({ engine: name, error: reason }, `TF.js engine ${name} failed to start; trying the next one.`);
      }
    }
  }
  throw new CentaurError('MODEL_LOAD_FAILED', `no TF.js engine could start (${skipped.join('; ')})`);
}

/** Starts one engine; throws NotInstalled when its optional package is absent. */
async function startOne(name: TfjsEngineName, request: TfjsEngineRequest, load: (specifier: string) => Promise<unknown>): Promise<TfjsEngine> {
  try {
    switch (name) {
      case 'node-gpu':
      case 'node':
        return await startNode(name, load);
      case 'wasm':
        return await startWasm(request, load);
      case 'cpu':
        return await startCpu(load);
    }
  } catch (error) {
    if (error instanceof NotInstalled && request.engine !== 'auto') throw notInstalled(name, error);
    if (error instanceof CentaurError || error instanceof NotInstalled) throw error;
    throw new CentaurError('MODEL_LOAD_FAILED', `TF.js engine \`${name}\` failed to start: ${messageOf(error)}`, { cause: error });
  }
}

/** What tfjs-node's module is expected to hold (it re-exports @tensorflow/tfjs). */
type NodeModule = Partial<typeof TfCore> & Partial<Omit<TfApi, 'core'>>;

/** tfjs-node(-gpu): its module re-exports the whole TF.js API bound to libtensorflow. */
async function startNode(name: 'node-gpu' | 'node', load: (specifier: string) => Promise<unknown>): Promise<TfjsEngine> {
  const specifier = NODE_PACKAGES[name];
  const namespace = (await importOptional(specifier, load)) as NodeModule & { default?: NodeModule };
  // A CommonJS package seen from ESM: the API is on the namespace, or on its default export.
  const module = typeof namespace.loadGraphModel === 'function' ? namespace : (namespace.default ?? {});
  const core = module as typeof TfCore;
  if (typeof module.loadGraphModel !== 'function' || typeof module.loadLayersModel !== 'function' || typeof module.setBackend !== 'function') {
    throw new Error(`${specifier} does not export the TF.js API`);
  }
  if (!(await core.setBackend('tensorflow'))) throw new Error(`${specifier} loaded, but its \`tensorflow\` backend did not initialise`);
  await core.ready();
  const detail = name === 'node-gpu' ? 'libtensorflow with CUDA' : 'libtensorflow, cpu';
  return {
    name,
    tf: { core, loadGraphModel: module.loadGraphModel, loadLayersModel: module.loadLayersModel },
    description: `tfjs ${core.version_core} ${name} (${detail})`,
  };
}

/** tfjs-backend-wasm from the package's own dist folder: SIMD where WebAssembly has it, threads where the build can run them. */
async function startWasm(request: TfjsEngineRequest, load: (specifier: string) => Promise<unknown>): Promise<TfjsEngine> {
  const { threads } = request;
  const tf = await bundledApi(load);
  const wasm = (await load('@tensorflow/tfjs-backend-wasm')) as typeof TfWasm;
  const require = createRequire(import.meta.url);
  const distFolder = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  wasm.setWasmPaths(distFolder + path.sep);
  if (threads !== undefined) wasm.setThreadsCount(threads);
  // The Emscripten glue installs process-wide handlers that rethrow; keep Centaur's own handling.
  const before = {
    uncaughtException: new Set(process.listeners('uncaughtException')),
    unhandledRejection: new Set(process.listeners('unhandledRejection')),
  };
  let started: boolean;
  try {
    started = await tf.core.setBackend('wasm');
    if (started) await tf.core.ready();
  } finally {
    for (const listener of process.listeners('uncaughtException')) {
      if (!before.uncaughtException.has(listener)) process.removeListener('uncaughtException', listener);
    }
    for (const listener of process.listeners('unhandledRejection')) {
      if (!before.unhandledRejection.has(listener)) process.removeListener('unhandledRejection', listener);
    }
  }
  if (!started) throw new Error(`the wasm backend did not initialise (binaries in ${distFolder})`);
  const simd = (await tf.core.env().getAsync('WASM_HAS_SIMD_SUPPORT')) === true;
  const actualThreads = wasm.getThreadsCount();
  if (threads !== undefined && threads > actualThreads) {
    // tfjs-backend-wasm 4.x turns its threaded build off under Node.js (its workers need browser blob URLs).
    request.logger?.warn({ threads, actualThreads }, `backend.threads is ${threads}, but the wasm engine runs ${actualThreads} thread${actualThreads === 1 ? '' : 's'} here.`);
  }
  const features = [simd ? 'simd' : 'no simd', `${actualThreads} thread${actualThreads === 1 ? '' : 's'}`];
  return { name: 'wasm', tf, description: `tfjs ${tf.core.version_core} wasm (${features.join(', ')})` };
}

/** The pure JavaScript backend: always there, and slow. */
async function startCpu(load: (specifier: string) => Promise<unknown>): Promise<TfjsEngine> {
  const tf = await bundledApi(load);
  await load('@tensorflow/tfjs-backend-cpu');
  if (!(await tf.core.setBackend('cpu'))) throw new Error('the cpu backend did not initialise');
  await tf.core.ready();
  return { name: 'cpu', tf, description: `tfjs ${tf.core.version_core} cpu (JavaScript)` };
}

/** The API from Centaur's own dependencies (tfjs-core, tfjs-converter, tfjs-layers). */
async function bundledApi(load: (specifier: string) => Promise<unknown>): Promise<TfApi> {
  const core = (await load('@tensorflow/tfjs-core')) as typeof TfCore;
  const converter = (await load('@tensorflow/tfjs-converter')) as typeof TfConverter;
  const layers = (await load('@tensorflow/tfjs-layers')) as typeof TfLayers;
  return { core, loadGraphModel: converter.loadGraphModel, loadLayersModel: layers.loadLayersModel };
}

/** Thrown when an optional engine package is not installed (auto mode moves on to the next engine). */
class NotInstalled extends Error {
  constructor(readonly specifier: string) {
    super(`${specifier} is not installed`);
  }
}

async function importOptional(specifier: string, load: (specifier: string) => Promise<unknown>): Promise<unknown> {
  try {
    return await load(specifier);
  } catch (error) {
    // Only the package itself missing counts; a missing file inside it (its native binding) is a broken install.
    const code = (error as { code?: unknown }).code;
    const message = messageOf(error);
    if (
      (code === 'ERR_MODULE_NOT_FOUND' && message.includes(`Cannot find package '${specifier}'`)) ||
      (code === 'MODULE_NOT_FOUND' && message.includes(`Cannot find module '${specifier}'`))
    ) {
      throw new NotInstalled(specifier);
    }
    throw error;
  }
}

/** Throws the not-installed error when an explicitly requested tfjs-node package is absent. */
async function requireInstalled(name: 'node-gpu' | 'node', load: (specifier: string) => Promise<unknown>): Promise<void> {
  try {
    await importOptional(NODE_PACKAGES[name], load);
  } catch (error) {
    if (error instanceof NotInstalled) throw notInstalled(name, error);
    // Installed but broken: the caller reports the engine already running instead.
  }
}

function notInstalled(name: TfjsEngineName, error: NotInstalled): CentaurError {
  return new CentaurError(
    'MODEL_LOAD_FAILED',
    `backend.engine \`${name}\` needs ${error.specifier}, which is not installed; run \`npm install ${error.specifier}\` (it downloads libtensorflow) or use \`engine: auto\``,
    { cause: error },
  );
}

function defaultImport(specifier: string): Promise<unknown> {
  return import(specifier);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
