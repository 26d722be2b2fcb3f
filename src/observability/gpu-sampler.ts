/**
 * The GPUs the machine shows, for the status API and the dashboard: utilisation and memory read
 * from `nvidia-smi` every few seconds in the background. Where there is no `nvidia-smi` the
 * sampler stops after its first try, and where it fails three times in a row (no driver) too; it
 * reports none then.
 */
import { execFile } from 'node:child_process';
import type { GpuFigures } from './api-types.js';

/** What `nvidia-smi` is asked for, in this order. */
const QUERY = 'index,name,utilization.gpu,memory.used,memory.total';
/** MiB, as nvidia-smi reports memory with `nounits`. */
const MIB = 1024 * 1024;

/** Parses `nvidia-smi --query-gpu=index,name,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits`; lines it cannot read are left out. */
export function parseNvidiaSmi(text: string): GpuFigures[] {
  const gpus: GpuFigures[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length !== 5) continue;
    const [index, name, utilization, used, total] = fields as [string, string, string, string, string];
    const numbers = [Number(index), Number(utilization), Number(used), Number(total)];
    // `[N/A]` (a field the device does not report) reads as NaN: the line is left out.
    if (name === '' || numbers.some((n) => !Number.isFinite(n))) continue;
    gpus.push({ index: Number(index), name, utilization: Number(utilization) / 100, memoryUsedBytes: Number(used) * MIB, memoryTotalBytes: Number(total) * MIB });
  }
  return gpus;
}

/** Samples the GPUs in the background; `latest` is null where none is visible. */
export class GpuSampler {
  private timer: NodeJS.Timeout | undefined;
  private reading: GpuFigures[] | null = null;
  private running = false;
  private failures = 0;

  constructor(
    private readonly command = 'nvidia-smi',
    private readonly intervalMs = 5000,
  ) {}

  /** The last reading, or null when no GPU is visible (or before the first reading). */
  get latest(): readonly GpuFigures[] | null {
    return this.reading;
  }

  /** Starts sampling: one reading now, then one per interval while a GPU answers. */
  start(): Promise<void> {
    if (this.running) return Promise.resolve();
    this.running = true;
    return this.sample();
  }

  /** Stops sampling. */
  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
  }

  private sample(): Promise<void> {
    return new Promise((resolve) => {
      execFile(this.command, [`--query-gpu=${QUERY}`, '--format=csv,noheader,nounits'], { timeout: 3000 }, (error, stdout) => {
        if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          // No driver tools: nothing to sample, now or later.
          this.reading = null;
          this.running = false;
          resolve();
          return;
        }
        const gpus = error === null ? parseNvidiaSmi(stdout) : [];
        this.reading = gpus.length > 0 ? gpus : null;
        this.failures = error === null ? 0 : this.failures + 1;
        if (this.failures >= 3) this.running = false;
        if (this.running) {
          this.timer = setTimeout(() => void this.sample(), this.intervalMs);
          this.timer.unref();
        }
        resolve();
      });
    });
  }
}
