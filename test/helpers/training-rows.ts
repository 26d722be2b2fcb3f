/** Synthetic training-set rows for the training tests: three classes around fixed centres in a small embedding space. */
import { cp, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createLogger } from '../../src/core/logger.js';
import { Random } from '../../src/drift/state/random.js';
import { storeFor } from '../../src/storage/store-for.js';
import { TrainingSetTable } from '../../src/training-set/training-set-table.js';
import { splitOf } from '../../src/training-set/training-row.js';
import type { TrainingRow } from '../../src/training-set/training-row.js';

export const DIMS = 32;
const centres = (() => {
  const r = Random.fromSeed(4);
  return ['horse', 'human', 'dog'].map(() => Float32Array.from({ length: DIMS }, () => r.nextDouble() * 2 - 1));
})();

/** Rows of three classes (dogs new to a horse/human model), predicted by a model that calls every dog a horse. */
export function rows(n: number, fingerprint: string | undefined, seed = 1): TrainingRow[] {
  const r = Random.fromSeed(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = ['horse', 'human', 'dog'][i % 3]!;
    const id = `in-${seed}-${i}`;
    return {
      inputId: id,
      split: splitOf(id, { validation: 0.15, holdout: 0.15 }),
      annotations: [{ annotator: 'ann', label, origin: 'kafka', labelTime: 1000 + i }],
      features: {
        entity: id,
        eventTime: i,
        modelVersion: '1',
        ...(fingerprint === undefined ? {} : { modelFingerprint: fingerprint }),
        embedding: Float32Array.from(centres[i % 3]!, (v) => v * 0.5 + (r.nextDouble() * 2 - 1)),
        predictedLabel: label === 'dog' ? 'horse' : label,
        confidence: 0.8,
      },
      updatedTime: 2000,
    };
  });
}


/** Writes 300 rows under `fingerprint`, their embeddings padded to the demo model's 1,280 dims, as a training set in `<dir>/lake/training-set`; returns its folder. */
export async function demoTrainingSet(dir: string, fingerprint: string): Promise<string> {
  const base = pathToFileURL(path.join(dir, 'lake', 'training-set')).href;
  const store = await storeFor(base);
  const table = await TrainingSetTable.open({ base, buckets: 4, policy: 'latest', classes: new Set(['horse', 'human']), compression: 'zstd', retries: 0 }, store, createLogger('silent'), 'test');
  await table.put(rows(300, fingerprint).map((row) => ({ ...row, features: { ...row.features, embedding: Float32Array.from({ length: 1280 }, (_, d) => (d < DIMS ? row.features.embedding[d]! : 0)) } })));
  await table.close();
  return path.join(dir, 'lake', 'training-set');
}

/** A copy of the demo model in `<dir>/parent`, renamed `name` (registries shared between runs need fresh names). */
export async function demoModelCopy(dir: string, name?: string): Promise<string> {
  const target = path.join(dir, 'parent');
  await cp('models/demo', target, { recursive: true });
  if (name !== undefined) {
    const file = path.join(target, 'manifest.json');
    await writeFile(file, JSON.stringify({ ...(JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>), name }, null, 2));
  }
  return target;
}
