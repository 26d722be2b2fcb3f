/**
 * Creates the inference backend a topology names, importing its module only then (so a topology
 * that runs onnx never loads gRPC or TensorFlow.js).
 */
import type { BackendContext, BackendOptions, InferenceBackend } from './backend.js';
import type { LoadedManifest } from './manifest.js';

/** Creates the backend named by `options.kind` for a loaded manifest; throws MODEL_LOAD_FAILED (or the backend's own coded error). */
export async function createBackend(options: BackendOptions, model: LoadedManifest, context: BackendContext = {}): Promise<InferenceBackend> {
  switch (options.kind) {
    case 'onnx': {
      const { createOnnxBackend } = await import('./onnx-backend.js');
      return createOnnxBackend(model, options);
    }
    case 'kserve': {
      const { createKserveBackend } = await import('./kserve-backend.js');
      return createKserveBackend(model, options, context);
    }
    case 'tfjs': {
      const { createTfjsBackend } = await import('./tfjs-backend.js');
      return createTfjsBackend(model, options, context);
    }
  }
}
