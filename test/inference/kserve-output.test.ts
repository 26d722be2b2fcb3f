import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CentaurError } from '../../src/core/errors.js';
import { batchOutput } from '../../src/inference/kserve-output.js';
import type { OutputPlan } from '../../src/inference/kserve-output.js';
import type { InferOutput, InferResponse } from '../../src/inference/kserve/types.js';

const PLAN: OutputPlan = { probabilities: 'probabilities', embedding: 'embedding', classes: 2 };

function response(outputs: InferOutput[]): InferResponse {
  return { model: 'm', version: '1', id: '', outputs, parameters: {} };
}

function fp32(name: string, shape: number[], values: number[]): InferOutput {
  return { name, datatype: 'FP32', shape, data: Float32Array.from(values) };
}

function rejectsWith(pattern: RegExp): (error: CentaurError) => boolean {
  return (error) => {
    assert.equal(error.code, 'INFERENCE_FAILED');
    assert.equal(error.retriable, false, 'a malformed answer is not retried');
    assert.match(error.message, pattern);
    return true;
  };
}

test('one answer: probabilities and embedding as Float32Array copies, in any output order', () => {
  const answer = response([fp32('embedding', [2, 3], [1, 2, 3, 4, 5, 6]), fp32('probabilities', [2, 2], [0.9, 0.1, 0.2, 0.8])]);
  const out = batchOutput([{ rows: 2, response: answer }], PLAN);
  assert.ok(out.probabilities instanceof Float32Array);
  assert.deepEqual(Array.from(out.probabilities), Array.from(Float32Array.from([0.9, 0.1, 0.2, 0.8])));
  assert.equal(out.embeddingSize, 3);
  assert.deepEqual(Array.from(out.embedding ?? []), [1, 2, 3, 4, 5, 6]);
  assert.notEqual(out.probabilities.buffer, answer.outputs[1]?.data.buffer, 'the output owns its memory');
});

test('the answers of a split batch are joined in request order', () => {
  const first = response([fp32('probabilities', [2, 2], [1, 0, 0.5, 0.5]), fp32('embedding', [2, 2], [1, 1, 2, 2])]);
  const second = response([fp32('probabilities', [1, 2], [0, 1]), fp32('embedding', [1, 2], [3, 3])]);
  const out = batchOutput(
    [
      { rows: 2, response: first },
      { rows: 1, response: second },
    ],
    PLAN,
  );
  assert.deepEqual(Array.from(out.probabilities), [1, 0, 0.5, 0.5, 0, 1]);
  assert.deepEqual(Array.from(out.embedding ?? []), [1, 1, 2, 2, 3, 3]);
  assert.equal(out.embeddingSize, 2);
});

test('FP64 outputs are narrowed to float32; FP16 arrives widened by the client and is read as it is', () => {
  const answer = response([
    { name: 'probabilities', datatype: 'FP64', shape: [1, 2], data: Float64Array.from([0.25, 0.75]) },
    { name: 'embedding', datatype: 'FP16', shape: [1, 2], data: Float32Array.from([0.5, -2]) },
  ]);
  const out = batchOutput([{ rows: 1, response: answer }], PLAN);
  assert.deepEqual(Array.from(out.probabilities), [0.25, 0.75]);
  assert.deepEqual(Array.from(out.embedding ?? []), [0.5, -2]);
});

test('without an embedding in the manifest, none is read (and none is needed)', () => {
  const out = batchOutput([{ rows: 1, response: response([fp32('probabilities', [1, 2], [0.5, 0.5])]) }], { ...PLAN, embedding: undefined });
  assert.equal(out.embedding, null);
  assert.equal(out.embeddingSize, 0);
});

test('a missing output, a wrong count, a wrong batch dimension or a non-float datatype is INFERENCE_FAILED, not retried', () => {
  const good = fp32('embedding', [1, 2], [1, 2]);
  assert.throws(
    () => batchOutput([{ rows: 1, response: response([good]) }], PLAN),
    rejectsWith(/the answer has no output `probabilities` \(the manifest's probabilities; outputs: `embedding`\)/),
  );
  assert.throws(
    () => batchOutput([{ rows: 1, response: response([good, fp32('probabilities', [1, 3], [0.2, 0.3, 0.5])]) }], PLAN),
    rejectsWith(/output `probabilities` has 3 values for 1 inputs × 2 classes/),
  );
  assert.throws(
    () => batchOutput([{ rows: 2, response: response([fp32('embedding', [2, 1], [1, 2]), fp32('probabilities', [1, 4], [0, 1, 0, 1])]) }], PLAN),
    rejectsWith(/output `probabilities` has shape \[1, 4\] for a request of 2 inputs/),
  );
  assert.throws(
    () => batchOutput([{ rows: 1, response: response([good, { name: 'probabilities', datatype: 'INT32', shape: [1, 2], data: Int32Array.from([0, 1]) }]) }], PLAN),
    rejectsWith(/output `probabilities` is INT32; probabilities must be FP32, FP16 or FP64/),
  );
  assert.throws(
    () =>
      batchOutput(
        [
          { rows: 1, response: response([fp32('probabilities', [1, 2], [1, 0]), fp32('embedding', [1, 2], [1, 2])]) },
          { rows: 1, response: response([fp32('probabilities', [1, 2], [1, 0]), fp32('embedding', [1, 3], [1, 2, 3])]) },
        ],
        PLAN,
      ),
    rejectsWith(/3 values per input in one answer and 2 in another/),
  );
});
