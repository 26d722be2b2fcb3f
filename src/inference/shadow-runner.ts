/**
 * Shadow mode: a candidate version runs beside the serving one on a sampled share of batches and
 * only its agreement (same top class) and latency are recorded; its answers never reach an
 * envelope, and it never holds the stream up: a sampled batch is copied and run in the
 * background, and skipped when the candidate is already busy. While the candidate alias names
 * the serving version (before the first candidate, or after its promotion) nothing is run.
 */
import type { BatchTensor } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import type { InferenceOutput } from './backend.js';
import type { ModelSlot } from './model-slot.js';

/** Where shadow results go. */
export interface ShadowRecorder {
  /**
   * A candidate batch finished: rows whose top class matched the serving version's, rows where it
   * named another class the serving version knows, and rows where it named a class the serving
   * version does not have.
   */
  compared(model: string, version: string, servingVersion: string, rows: { readonly agreed: number; readonly disagreed: number; readonly newClass: number }, seconds: number): void;
  /** A sampled batch was not run because the candidate was busy (or failed). */
  skipped(reason: 'busy' | 'failed'): void;
}

export class ShadowRunner {
  private running = 0;
  private credit = 0;
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly slot: ModelSlot,
    private readonly sampleRatio: number,
    private readonly maxInFlight: number,
    private readonly recorder: ShadowRecorder,
    private readonly logger: Logger | undefined,
  ) {}

  /** The candidate's slot (for its version and closing). */
  get candidate(): ModelSlot {
    return this.slot;
  }

  /**
   * Offers a batch the serving version just answered (`served`, whose rows follow `classes`).
   * Sampling is by accumulated share, so exactly `sampleRatio` of batches are taken over time.
   */
  offer(tensor: BatchTensor, served: InferenceOutput, classes: readonly string[], servingVersion: string): void {
    if (this.slot.current.model.manifest.version === servingVersion) return;
    this.credit += this.sampleRatio;
    if (this.credit < 1) return;
    this.credit -= 1;
    if (this.running >= this.maxInFlight) {
      this.recorder.skipped('busy');
      return;
    }
    const rows = tensor.shape[0];
    const per = tensor.shape[1] * tensor.shape[2] * tensor.shape[3];
    // The serving batch's buffer is pooled and released soon: the candidate gets its own copy.
    const copy: BatchTensor = { data: tensor.data.slice(0, rows * per), shape: tensor.shape, layout: tensor.layout, release: () => undefined };
    const servedTop = topLabels(served.probabilities, rows, classes);
    this.running += 1;
    const run = this.compare(copy, servedTop, classes, servingVersion).finally(() => {
      this.running -= 1;
      this.pending.delete(run);
    });
    this.pending.add(run);
  }

  /** Waits for candidate runs in progress, then closes the candidate. */
  async close(): Promise<void> {
    await Promise.all([...this.pending]);
    await this.slot.close();
  }

  private async compare(tensor: BatchTensor, servedTop: readonly string[], servedClasses: readonly string[], servingVersion: string): Promise<void> {
    const lease = this.slot.lease();
    const { manifest } = lease.instance.model;
    const started = performance.now();
    try {
      const out = await lease.instance.backend.run(tensor);
      const seconds = (performance.now() - started) / 1000;
      const top = topLabels(out.probabilities, servedTop.length, manifest.classes);
      let agreed = 0;
      let newClass = 0;
      for (let i = 0; i < top.length; i += 1) {
        if (top[i] === servedTop[i]) agreed += 1;
        else if (!servedClasses.includes(top[i]!)) newClass += 1;
      }
      this.recorder.compared(manifest.name, manifest.version, servingVersion, { agreed, disagreed: top.length - agreed - newClass, newClass }, seconds);
    } catch (error) {
      this.recorder.skipped('failed');
      this.logger?.warn({ model: manifest.name, version: manifest.version, error: (error as Error).message }, 'Shadow run failed; outputs are not affected.');
    } finally {
      lease.release();
    }
  }
}

/** The class name with the largest probability in each row (names, so versions may order classes differently). */
function topLabels(probabilities: Float32Array, rows: number, classes: readonly string[]): string[] {
  const k = classes.length;
  const top: string[] = [];
  for (let r = 0; r < rows; r += 1) {
    let best = 0;
    for (let j = 1; j < k; j += 1) if ((probabilities[r * k + j] as number) > (probabilities[r * k + best] as number)) best = j;
    top.push(classes[best] as string);
  }
  return top;
}
