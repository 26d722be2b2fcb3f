/**
 * The model an `infer` node runs now, swappable while batches are in flight: each batch leases
 * the current version for the whole of its run, a swap makes new leases take the new version, and
 * the old version's backend is closed only once its last lease is returned. So no batch is dropped
 * or run twice, and every prediction names the version that produced it.
 */
import type { InferenceBackend } from './backend.js';
import type { LoadedManifest } from './manifest.js';

/** One loaded version: its manifest and the backend running it. */
export interface ModelInstance {
  readonly model: LoadedManifest;
  readonly backend: InferenceBackend;
}

/** A version held for one batch; `release` exactly once when the batch is done. */
export interface ModelLease {
  readonly instance: ModelInstance;
  release(): void;
}

interface Entry {
  readonly instance: ModelInstance;
  leases: number;
  retired: boolean;
  closed: Promise<void> | undefined;
}

export class ModelSlot {
  private entry: Entry;
  private readonly retiring = new Set<Entry>();

  constructor(
    initial: ModelInstance,
    private readonly onCloseError: (error: unknown, instance: ModelInstance) => void = () => undefined,
  ) {
    this.entry = { instance: initial, leases: 0, retired: false, closed: undefined };
  }

  /** The version new batches get. */
  get current(): ModelInstance {
    return this.entry.instance;
  }

  /** Holds the current version for one batch. */
  lease(): ModelLease {
    const entry = this.entry;
    entry.leases += 1;
    let released = false;
    return {
      instance: entry.instance,
      release: () => {
        if (released) return;
        released = true;
        entry.leases -= 1;
        if (entry.retired && entry.leases === 0) this.closeEntry(entry);
      },
    };
  }

  /** Makes `next` the version for new batches; the previous one closes when its batches finish. */
  swap(next: ModelInstance): void {
    const previous = this.entry;
    this.entry = { instance: next, leases: 0, retired: false, closed: undefined };
    previous.retired = true;
    this.retiring.add(previous);
    if (previous.leases === 0) this.closeEntry(previous);
  }

  /** Closes the current version and waits for retired ones (call after the stream completed). */
  async close(): Promise<void> {
    this.entry.retired = true;
    this.retiring.add(this.entry);
    if (this.entry.leases === 0) this.closeEntry(this.entry);
    await Promise.all([...this.retiring].map((e) => e.closed ?? Promise.resolve()));
  }

  private closeEntry(entry: Entry): void {
    if (entry.closed !== undefined) return;
    entry.closed = entry.instance.backend.close().catch((error: unknown) => this.onCloseError(error, entry.instance));
  }
}
