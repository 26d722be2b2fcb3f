import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelSlot } from '../../src/inference/model-slot.js';
import { ShadowRunner } from '../../src/inference/shadow-runner.js';
import type { InferenceOutput } from '../../src/inference/backend.js';
import type { LoadedManifest } from '../../src/inference/manifest.js';
import type { BatchTensor } from '../../src/core/envelope.js';

/** A candidate that answers "b" for rows whose first pixel is > 0.5, else "a", after `delayMs`. */
function candidate(delayMs: number, seen: Float32Array[], classes = ['a', 'b']): ModelSlot {
  return new ModelSlot({
    model: { manifest: { name: 'm', version: '2', classes } } as unknown as LoadedManifest,
    backend: {
      name: 'fake',
      description: 'fake',
      run: async (t: BatchTensor): Promise<InferenceOutput> => {
        seen.push(t.data as Float32Array);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        const rows = t.shape[0];
        const p = new Float32Array(rows * 2);
        for (let r = 0; r < rows; r += 1) {
          const b = (t.data[r * 2] as number) > 0.5 ? 1 : 0;
          p[r * 2 + b] = 1;
        }
        return { probabilities: p, embedding: null, embeddingSize: 0 };
      },
      close: async () => undefined,
    },
  });
}

/** Two rows of two values; the serving version said "a" for both. */
function batch(first: number, second: number): { tensor: BatchTensor; served: InferenceOutput } {
  const data = new Float32Array([first, 0, second, 0]);
  return {
    tensor: { data, shape: [2, 1, 1, 2], layout: 'NHWC', release: () => undefined },
    served: { probabilities: new Float32Array([1, 0, 1, 0]), embedding: null, embeddingSize: 0 },
  };
}

test('a sampled share of batches is compared by top class; the candidate works on its own copy', async () => {
  const seen: Float32Array[] = [];
  const results: { agreed: number; disagreed: number }[] = [];
  const skipped: string[] = [];
  const runner = new ShadowRunner(candidate(0, seen), 0.25, 10, { compared: (_m, _v, _s, { agreed, disagreed }) => results.push({ agreed, disagreed }), skipped: (r) => skipped.push(r) }, undefined);
  for (let i = 0; i < 8; i += 1) {
    const { tensor, served } = batch(0.9, 0.1);
    runner.offer(tensor, served, ['a', 'b'], '1');
    tensor.data.fill(0.7);
  }
  await runner.close();
  assert.equal(results.length, 2, 'a quarter of 8 batches');
  assert.deepEqual(results, [{ agreed: 1, disagreed: 1 }, { agreed: 1, disagreed: 1 }], 'the copy kept the values seen at offer time');
  assert.deepEqual(skipped, []);
  assert.ok(seen.every((d) => d.length === 4));
});

test('a busy candidate skips sampled batches instead of holding the stream', async () => {
  const skipped: string[] = [];
  let compared = 0;
  const runner = new ShadowRunner(candidate(50, []), 1, 1, { compared: () => (compared += 1), skipped: (r) => skipped.push(r) }, undefined);
  for (let i = 0; i < 3; i += 1) {
    const { tensor, served } = batch(0.1, 0.1);
    runner.offer(tensor, served, ['a', 'b'], '1');
  }
  await runner.close();
  assert.equal(compared, 1);
  assert.deepEqual(skipped, ['busy', 'busy']);
});

test('rows put in a class the serving version lacks are counted apart; nothing runs while the candidate is the serving version', async () => {
  const rows: { agreed: number; disagreed: number; newClass: number }[] = [];
  const runner = new ShadowRunner(candidate(0, [], ['a', 'dog']), 1, 4, { compared: (_m, _v, serving, r) => rows.push({ ...r, serving: Number(serving) } as never), skipped: () => undefined }, undefined);
  const { tensor, served } = batch(0.9, 0.1);
  runner.offer(tensor, served, ['a', 'b'], '1');
  runner.offer(tensor, served, ['a', 'b'], '2');
  await runner.close();
  assert.deepEqual(rows, [{ agreed: 1, disagreed: 0, newClass: 1, serving: 1 }], 'version 2 is not compared with itself');
});
