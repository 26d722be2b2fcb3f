/** Synthetic training-set rows for the training tests: three classes around fixed centres in a small embedding space. */
import { Random } from '../../src/drift/state/random.js';
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

