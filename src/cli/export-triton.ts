/**
 * `centaur models export-triton <manifest-dir> --out DIR`: reads the command's string options,
 * writes the Triton model repository entry (src/inference/triton-repository.ts) and says what it
 * wrote; a bad option or a model that does not match its manifest is exit 2.
 */
import { CentaurError } from '../core/errors.js';
import { INSTANCE_KINDS, exportTritonRepository } from '../inference/triton-repository.js';
import type { InstanceKind, TritonExportOptions } from '../inference/triton-repository.js';

/** The options as commander hands them over (strings; absent when not given). */
export interface ExportTritonFlags {
  readonly out: string;
  readonly maxBatch?: string;
  readonly preferred?: string;
  readonly maxQueueDelayUs?: string;
  readonly instances?: string;
  readonly kind?: string;
  readonly name?: string;
  readonly version?: string;
}

/** Where the command writes. */
export interface ExportTritonIo {
  out(text: string): void;
  err(text: string): void;
}

/** Runs the export; resolves with the exit code (0, or 2 for a bad option or model). */
export async function exportTritonCommand(manifestDir: string, flags: ExportTritonFlags, io: ExportTritonIo): Promise<number> {
  const problems: string[] = [];
  const integer = (flag: string, text: string | undefined, min: number): number | undefined => {
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!/^\s*\d+\s*$/.test(text) || !Number.isInteger(value) || value < min) {
      problems.push(`--${flag} must be an integer of at least ${min}, got ${JSON.stringify(text)}`);
    }
    return value;
  };
  const maxBatchSize = integer('max-batch', flags.maxBatch, 1);
  const maxQueueDelayMicroseconds = integer('max-queue-delay-us', flags.maxQueueDelayUs, 0);
  const instances = integer('instances', flags.instances, 1);
  const preferred = flags.preferred?.split(',').map((p, i) => integer(`preferred (entry ${i + 1})`, p.trim(), 1) as number);
  const kind = flags.kind?.toUpperCase();
  if (kind !== undefined && !(INSTANCE_KINDS as readonly string[]).includes(kind)) {
    problems.push(`--kind must be one of ${INSTANCE_KINDS.join(', ')}, got ${JSON.stringify(flags.kind)}`);
  }
  if (problems.length > 0) {
    for (const problem of problems) io.err(`centaur models export-triton: ${problem}`);
    return 2;
  }
  const options: TritonExportOptions = {
    ...(maxBatchSize === undefined ? {} : { maxBatchSize }),
    ...(preferred === undefined ? {} : { preferredBatchSizes: preferred }),
    ...(maxQueueDelayMicroseconds === undefined ? {} : { maxQueueDelayMicroseconds }),
    ...(instances === undefined ? {} : { instances }),
    ...(kind === undefined ? {} : { kind: kind as InstanceKind }),
    ...(flags.name === undefined ? {} : { modelName: flags.name }),
    ...(flags.version === undefined ? {} : { version: flags.version }),
  };
  try {
    const exported = await exportTritonRepository(manifestDir, flags.out, options);
    const { config } = exported;
    io.out(
      [
        `wrote ${exported.configPath}`,
        `      ${exported.labelsPath}`,
        `      ${exported.modelPath}`,
        `model ${exported.model} version ${exported.version}: max_batch_size ${config.maxBatchSize}, preferred ${config.preferredBatchSizes.join(', ')}, ` +
          `max queue delay ${config.maxQueueDelayMicroseconds} µs, ${config.instances} × ${config.kind}`,
      ].join('\n'),
    );
    return 0;
  } catch (error) {
    if (error instanceof CentaurError && error.category === 'config') {
      io.err(`centaur models export-triton: ${error.code}: ${error.message}`);
      return 2;
    }
    throw error;
  }
}
