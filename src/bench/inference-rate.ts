/** The inference stage alone, the other half of every scenario's ceiling: onnxruntime on batches of decoded benchmark images. */
import type { Envelope } from '../core/envelope.js';
import type { Logger } from '../core/logger.js';
import { createBackend } from '../inference/create-backend.js';
import { loadManifest } from '../inference/manifest.js';
import { packBatch } from '../tensors/pack-batch.js';
import { decodeAll } from './decode-scenario.js';

/** The settings inference runs with in the pipeline being judged. */
export interface InferenceRateOptions {
  readonly decoder: 'sharp' | 'jpeg-turbo';
  readonly batch: number;
  readonly inferThreads: number;
  readonly modelDir: string;
}

/** Images/s of onnxruntime alone, on batches packed from the decoded benchmark images. */
export async function inferenceRate(blobs: readonly Buffer[], o: InferenceRateOptions, logger: Logger): Promise<number> {
  const decoded = await decodeAll(blobs.slice(0, o.batch), { size: [224, 224], decoder: o.decoder }, logger);
  const model = await loadManifest(o.modelDir);
  const backend = await createBackend({ kind: 'onnx', intraOpNumThreads: o.inferThreads, allowSpinning: true }, model);
  try {
    const input = model.manifest.input;
    const buffer = new Float32Array(input.width * input.height * input.channels * o.batch);
    const tensors = decoded.map((e: Envelope) => e.tensor).filter((t) => t !== undefined);
    const shape = packBatch(tensors, buffer, input.layout, 'float32');
    const tensor = { data: buffer, shape, layout: input.layout, release: () => undefined };
    await backend.run(tensor);
    const calls = Math.max(2, Math.round(blobs.length / o.batch));
    const started = performance.now();
    for (let i = 0; i < calls; i += 1) await backend.run(tensor);
    return (calls * tensors.length) / ((performance.now() - started) / 1000);
  } finally {
    await backend.close();
  }
}
