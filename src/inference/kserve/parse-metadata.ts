/**
 * Reads server and model metadata, and parameter maps, from what a server sent (HTTP JSON or the
 * decoded gRPC message: both have the protocol's field names), checking each field's type so that
 * the rest of the client works on well-formed values.
 */
import { CentaurError } from '../../core/errors.js';
import type { ModelMetadata, ParameterValue, ServerMetadata, TensorMetadata } from './types.js';

/** A model's metadata; throws INFERENCE_FAILED (not retriable) when the server's answer is malformed. */
export function parseModelMetadata(where: string, value: unknown): ModelMetadata {
  if (!isRecord(value) || typeof value.name !== 'string') throw malformed(where, 'model metadata without a name');
  const tensors = (key: 'inputs' | 'outputs'): TensorMetadata[] => {
    const list = value[key] ?? [];
    if (!Array.isArray(list)) throw malformed(where, `\`${key}\` is not a list`);
    return list.map((t: unknown) => {
      if (!isRecord(t) || typeof t.name !== 'string' || typeof t.datatype !== 'string' || !Array.isArray(t.shape)) {
        throw malformed(where, `an entry of \`${key}\` is not {name, datatype, shape}`);
      }
      const shape = t.shape.map(Number);
      if (shape.some((d) => !Number.isInteger(d) || d < -1)) throw malformed(where, `tensor \`${t.name}\` has shape [${t.shape.join(', ')}]`);
      return { name: t.name, datatype: t.datatype, shape };
    });
  };
  const versions = Array.isArray(value.versions) ? value.versions.filter((v): v is string => typeof v === 'string') : [];
  const maxBatch = isRecord(value.parameters) ? Number(value.parameters.max_batch_size) : NaN;
  return {
    name: value.name,
    versions,
    platform: typeof value.platform === 'string' ? value.platform : '',
    inputs: tensors('inputs'),
    outputs: tensors('outputs'),
    ...(Number.isInteger(maxBatch) && maxBatch > 0 ? { maxBatchSize: maxBatch } : {}),
  };
}

/** The server's metadata; throws INFERENCE_FAILED (not retriable) when it is malformed. */
export function parseServerMetadata(where: string, value: unknown): ServerMetadata {
  if (!isRecord(value) || typeof value.name !== 'string') throw malformed(where, 'server metadata without a name');
  return {
    name: value.name,
    version: typeof value.version === 'string' ? value.version : '',
    extensions: Array.isArray(value.extensions) ? value.extensions.filter((e): e is string => typeof e === 'string') : [],
  };
}

/** A JSON parameter object, keeping the values the protocol allows (string, number, boolean). */
export function parseParameters(value: unknown): Record<string, ParameterValue> {
  const out: Record<string, ParameterValue> = {};
  if (!isRecord(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[key] = v;
  }
  return out;
}

/** Whether a value is a plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function malformed(where: string, message: string): CentaurError {
  return new CentaurError('INFERENCE_FAILED', `${where}: malformed answer: ${message}`, { retriable: false });
}
