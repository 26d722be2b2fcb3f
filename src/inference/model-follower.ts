/**
 * Follows a registry alias for an `infer` node: polls which version the alias names, and when it
 * moves, loads the new version (checksum verified), checks that it takes the same input as the
 * running one, starts its backend and swaps it in. A version that cannot be loaded or does not fit
 * is refused with a logged error and the running version stays.
 */
import { CentaurError, toCentaurError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ModelRegistryApi } from '../registry/model-registry.js';
import type { InferenceBackend } from './backend.js';
import type { LoadedManifest, Manifest } from './manifest.js';
import type { ModelSlot } from './model-slot.js';

/** Why `next` cannot replace `running` in a live topology, or null when it can. */
export function swapProblem(running: Manifest, next: Manifest): string | null {
  const a = running.input;
  const b = next.input;
  const fields = ['name', 'width', 'height', 'channels', 'layout', 'dtype', 'scale'] as const;
  const differing = fields.filter((f) => a[f] !== b[f]);
  if (differing.length > 0) {
    return `its input differs from the running version's (${differing.map((f) => `${f} ${String(b[f])} ≠ ${String(a[f])}`).join(', ')}); the topology's decode and batch settings fit the running one`;
  }
  if (running.outputs.embedding !== undefined && next.outputs.embedding === undefined) return 'it has no embedding output and the running version has one';
  return null;
}

/** What the follower needs from its node. */
export interface FollowerOptions {
  readonly registry: ModelRegistryApi;
  readonly model: string;
  readonly alias: string;
  readonly pollIntervalMs: number;
  readonly slot: ModelSlot;
  /** Starts a backend for a loaded version. */
  readonly createBackend: (model: LoadedManifest) => Promise<InferenceBackend>;
  /** Called after each swap (metrics, logs). */
  readonly onSwap: (from: Manifest, to: Manifest) => void;
  readonly logger: Logger;
}

export class ModelFollower {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The last version refused, so a broken version is reported once, not at every poll. */
  private refused: string | undefined;
  private checking: Promise<void> | undefined;
  /** The last problem reading the alias, so it is logged once, not at every poll. */
  private aliasProblem: string | undefined;

  constructor(private readonly options: FollowerOptions) {}

  /** Starts polling. */
  start(): void {
    this.schedule();
  }

  /** Stops polling and waits for a check in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.checking;
  }

  /** Checks the alias once now (tests and the first poll use it); resolves when any swap is done. */
  check(): Promise<void> {
    this.checking ??= this.checkOnce().finally(() => (this.checking = undefined));
    return this.checking;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.check().finally(() => this.schedule());
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  private async checkOnce(): Promise<void> {
    const { registry, model, alias, slot, logger } = this.options;
    const running = slot.current.model.manifest;
    let version: string;
    try {
      version = await registry.resolveVersion(model, alias);
    } catch (error) {
      // Said once per distinct problem: a missing candidate alias is normal until the first retraining.
      const message = (error as Error).message;
      if (message !== this.aliasProblem) logger.warn({ model, alias, error: message }, 'Cannot read the model alias; the running version stays.');
      this.aliasProblem = message;
      return;
    }
    this.aliasProblem = undefined;
    if (version === running.version || version === this.refused) return;
    let backend: InferenceBackend | undefined;
    try {
      const loaded = await registry.load(model, version);
      const problem = swapProblem(running, loaded.manifest);
      if (problem !== null) throw new CentaurError('MODEL_LOAD_FAILED', `${model} version ${version} cannot replace version ${running.version}: ${problem}`);
      backend = await this.options.createBackend(loaded);
      if (this.stopped) {
        await backend.close();
        return;
      }
      slot.swap({ model: loaded, backend });
      this.refused = undefined;
      this.options.onSwap(running, loaded.manifest);
      logger.info({ model, alias, from: running.version, to: version }, 'Model version swapped; batches in flight finish on the previous version.');
    } catch (error) {
      this.refused = version;
      const coded = toCentaurError(error, 'MODEL_LOAD_FAILED');
      logger.error({ model, alias, version, code: coded.code, error: coded.message }, 'New model version refused; the running version stays.');
    }
  }
}
