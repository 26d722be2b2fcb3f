/**
 * The response side of the `kserve` backend: the answers to a batch's requests (one per chunk, in
 * order) become one `InferenceOutput`, as the onnx backend produces it: probabilities n × classes
 * and, when the manifest names one, the embedding n × d, both Float32Array copies. An answer that
 * lacks an output, has the wrong element count or a non-float datatype is a protocol problem
 * (INFERENCE_FAILED, not retried): the batch goes to the dead letter rather than being misread.
 */
import { CentaurError } from '../core/errors.js';
import type { InferenceOutput } from './backend.js';
import type { InferOutput, InferResponse } from './kserve/types.js';

/** One request's answer and how many images it carried. */
export interface ChunkAnswer {
  readonly rows: number;
  readonly response: InferResponse;
}

/** The manifest's output names and class count. */
export interface OutputPlan {
  readonly probabilities: string;
  readonly embedding: string | undefined;
  readonly classes: number;
}

/** Joins the answers of a batch's requests into one output; throws INFERENCE_FAILED (not retriable). */
export function batchOutput(answers: readonly ChunkAnswer[], plan: OutputPlan): InferenceOutput {
  const n = answers.reduce((sum, a) => sum + a.rows, 0);
  const probabilities = new Float32Array(n * plan.classes);
  let embedding: Float32Array | null = null;
  let embeddingSize = 0;
  let row = 0;
  for (const { rows, response } of answers) {
    const p = floatOutput(response, plan.probabilities, rows, 'probabilities');
    if (p.length !== rows * plan.classes) {
      throw invalid(`output \`${plan.probabilities}\` has ${p.length} values for ${rows} inputs × ${plan.classes} classes (the manifest's)`);
    }
    probabilities.set(p, row * plan.classes);
    if (plan.embedding !== undefined) {
      const e = floatOutput(response, plan.embedding, rows, 'embedding');
      if (rows === 0 || e.length % rows !== 0 || e.length === 0) {
        throw invalid(`output \`${plan.embedding}\` has ${e.length} values for ${rows} inputs`);
      }
      const size = e.length / rows;
      if (embedding === null) {
        embeddingSize = size;
        embedding = new Float32Array(n * size);
      } else if (size !== embeddingSize) {
        throw invalid(`output \`${plan.embedding}\` has ${size} values per input in one answer and ${embeddingSize} in another`);
      }
      embedding.set(e, row * size);
    }
    row += rows;
  }
  return { probabilities, embedding, embeddingSize };
}

/** A float output's elements (FP32, FP16 widened by the client, or FP64), checked against the rows. */
function floatOutput(response: InferResponse, name: string, rows: number, role: string): Float32Array | Float64Array {
  const found: InferOutput | undefined = response.outputs.find((o) => o.name === name);
  if (found === undefined) {
    const names = response.outputs.map((o) => `\`${o.name}\``).join(', ') || 'none';
    throw invalid(`the answer has no output \`${name}\` (the manifest's ${role}; outputs: ${names})`);
  }
  if (!(found.data instanceof Float32Array || found.data instanceof Float64Array)) {
    throw invalid(`output \`${name}\` is ${found.datatype}; ${role} must be FP32, FP16 or FP64`);
  }
  if (found.shape.length > 0 && found.shape[0] !== rows) {
    throw invalid(`output \`${name}\` has shape [${found.shape.join(', ')}] for a request of ${rows} inputs`);
  }
  return found.data;
}

function invalid(message: string): CentaurError {
  return new CentaurError('INFERENCE_FAILED', message, { retriable: false });
}
