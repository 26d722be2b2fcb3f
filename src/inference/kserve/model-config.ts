/**
 * A model's configuration, as NVIDIA Triton offers it (gRPC `ModelConfig`, HTTP `GET …/config`):
 * read from either answer into one typed shape, and checked at start against the manifest.
 *
 * Both answers carry protobuf's field names (`max_batch_size`, `data_type`, …) and enum names
 * (`TYPE_FP32`, `KIND_GPU`); Triton's JSON turns 64-bit integers into numbers, protobuf's own JSON
 * leaves them as strings, and a decoder without the enum may give its number, so every form is read.
 *
 * What the configuration adds to the model metadata is the batch limit: `max_batch_size` rows per
 * request, or 0 for a model that does not batch. Then each tensor's `dims` is its whole shape: with
 * a first dimension of -1 the model takes any batch in one request (no limit), with a first
 * dimension of 1 one image per request; without a batch dimension at all the model takes a single
 * image as [h, w, c], which Centaur does not send, so that is refused with the fix.
 */
import { CentaurError } from '../../core/errors.js';
import type { Manifest } from '../manifest.js';
import { isRecord } from './parse-metadata.js';
import type { DynamicBatching, InstanceGroup, ModelConfig, ModelConfigTensor } from './types.js';

/** Triton's DataType enum, by number (model_config.proto). */
const DATA_TYPES = [
  'TYPE_INVALID',
  'TYPE_BOOL',
  'TYPE_UINT8',
  'TYPE_UINT16',
  'TYPE_UINT32',
  'TYPE_UINT64',
  'TYPE_INT8',
  'TYPE_INT16',
  'TYPE_INT32',
  'TYPE_INT64',
  'TYPE_FP16',
  'TYPE_FP32',
  'TYPE_FP64',
  'TYPE_STRING',
  'TYPE_BF16',
] as const;
const FORMATS = ['FORMAT_NONE', 'FORMAT_NHWC', 'FORMAT_NCHW'] as const;
const KINDS = ['KIND_AUTO', 'KIND_GPU', 'KIND_CPU', 'KIND_MODEL'] as const;

const FLOAT_OUTPUTS: ReadonlySet<string> = new Set(['FP16', 'FP32', 'FP64']);

/** What the check found: every problem, and how requests must be cut when there is none. */
export interface ModelConfigCheck {
  /** One sentence per difference, naming the configuration's fields; empty when it fits the manifest. */
  readonly problems: readonly string[];
  /** Most images per request (`max_batch_size`, or 1 for a non-batching model of batch 1); undefined: no limit. */
  readonly maxRows: number | undefined;
  /** The model takes exactly one image per request (max_batch_size 0, dims [1, …]): its metadata's batch dimension is 1. */
  readonly batchOfOne: boolean;
}

/** A model configuration from a gRPC `ModelConfigResponse.config` or Triton's HTTP JSON; throws INFERENCE_FAILED when malformed. */
export function parseModelConfig(where: string, value: unknown): ModelConfig {
  if (!isRecord(value) || typeof value.name !== 'string') throw malformed(where, 'model configuration without a name');
  const maxBatchSize = integer(value.max_batch_size ?? 0);
  if (maxBatchSize === undefined || maxBatchSize < 0) throw malformed(where, `max_batch_size is ${JSON.stringify(value.max_batch_size)}`);
  const tensors = (key: 'input' | 'output'): ModelConfigTensor[] => {
    const list = value[key] ?? [];
    if (!Array.isArray(list)) throw malformed(where, `\`${key}\` is not a list`);
    return list.map((t: unknown) => {
      if (!isRecord(t) || typeof t.name !== 'string') throw malformed(where, `an entry of \`${key}\` has no name`);
      const dims = integers(t.dims ?? []);
      if (dims === undefined || dims.some((d) => d < -1)) throw malformed(where, `${key} \`${t.name}\` has dims ${JSON.stringify(t.dims)}`);
      const reshape = isRecord(t.reshape) ? integers(t.reshape.shape ?? []) : undefined;
      const format = enumName(t.format, FORMATS);
      return {
        name: t.name,
        datatype: protocolDatatype(enumName(t.data_type ?? 0, DATA_TYPES)),
        dims,
        ...(reshape === undefined ? {} : { reshape }),
        ...(format === 'FORMAT_NHWC' ? { format: 'NHWC' as const } : format === 'FORMAT_NCHW' ? { format: 'NCHW' as const } : {}),
      };
    });
  };
  return {
    name: value.name,
    platform: typeof value.platform === 'string' ? value.platform : '',
    backend: typeof value.backend === 'string' ? value.backend : '',
    maxBatchSize,
    inputs: tensors('input'),
    outputs: tensors('output'),
    ...dynamicBatching(where, value.dynamic_batching),
    instanceGroups: instanceGroups(where, value.instance_group),
  };
}

/** Compares a model configuration with the manifest: input and outputs, datatypes, dims and the batch limit. */
export function checkModelConfig(manifest: Manifest, config: ModelConfig): ModelConfigCheck {
  const problems: string[] = [];
  const { input, outputs, classes } = manifest;
  const batching = config.maxBatchSize > 0;
  const image = input.layout === 'NHWC' ? [input.height, input.width, input.channels] : [input.channels, input.height, input.width];
  const imageText = `${input.layout} ${formatDims(image)}`;
  // For a model that does not batch, what its own first dimension allows: -1 any batch, 1 one image.
  let batchDim: number | undefined;

  const served = config.inputs.find((t) => t.name === input.name);
  if (served === undefined) {
    problems.push(`the manifest's input \`${input.name}\` is not an input of the configuration (input: ${names(config.inputs)})`);
  } else {
    const accepted = input.dtype === 'float32' ? ['FP32', 'FP16'] : ['UINT8'];
    if (!accepted.includes(served.datatype)) {
      problems.push(
        `input \`${input.name}\`: the configuration says data_type ${tritonType(served.datatype)}, the manifest says ${input.dtype} (${accepted.map(tritonType).join(' or ')})`,
      );
    }
    if (served.format !== undefined && served.format !== input.layout) {
      problems.push(`input \`${input.name}\`: the configuration says format FORMAT_${served.format}, the manifest says layout ${input.layout}`);
    }
    if (batching) {
      const problem = compareDims(served.dims, image);
      if (problem !== undefined) {
        problems.push(`input \`${input.name}\`: the configuration says dims ${formatDims(served.dims)} (after the batch dimension), the manifest says ${imageText}: ${problem}`);
      }
    } else if (served.dims.length === image.length && compareDims(served.dims, image) === undefined) {
      problems.push(
        `input \`${input.name}\`: max_batch_size is 0 and dims are ${formatDims(served.dims)}, so the model takes one image per request with no batch dimension, and Centaur always sends one; set max_batch_size to 1 or more in config.pbtxt (the dims stay as they are)`,
      );
    } else {
      const [first, ...rest] = served.dims;
      const problem = served.dims.length !== image.length + 1 ? `rank ${served.dims.length}, not ${image.length + 1}` : compareDims(rest, image);
      if (problem !== undefined) {
        problems.push(
          `input \`${input.name}\`: max_batch_size is 0, so dims are the whole shape; the configuration says ${formatDims(served.dims)}, the manifest needs [-1, ${image.join(', ')}] (${imageText}): ${problem}`,
        );
      } else if (first !== -1 && first !== 1) {
        problems.push(
          `input \`${input.name}\`: max_batch_size is 0 and dims ${formatDims(served.dims)} fix the batch at ${first}; Centaur's batches vary in size, so make the first dimension -1 or set max_batch_size and leave it out`,
        );
      } else {
        batchDim = first;
      }
    }
  }
  const others = config.inputs.filter((t) => t.name !== input.name);
  if (served !== undefined && others.length > 0) {
    problems.push(`the configuration has more inputs than the manifest's \`${input.name}\`: ${names(others)}; Centaur feeds one input`);
  }

  const checkOutput = (role: string, name: string, size: number | undefined): void => {
    const out = config.outputs.find((t) => t.name === name);
    if (out === undefined) {
      problems.push(`the manifest's ${role} output \`${name}\` is not an output of the configuration (output: ${names(config.outputs)})`);
      return;
    }
    if (!FLOAT_OUTPUTS.has(out.datatype)) {
      problems.push(`${role} output \`${name}\`: the configuration says data_type ${tritonType(out.datatype)}, Centaur reads TYPE_FP32, TYPE_FP16 or TYPE_FP64`);
    }
    // A non-batching model whose input is wrong says nothing sure about its outputs' batch dimension.
    if (!batching && batchDim === undefined) return;
    const wanted = size === undefined ? [-1] : [size];
    const [first, ...rest] = out.dims;
    let problem = compareDims(batching ? out.dims : rest, wanted);
    if (problem === undefined && !batching && first !== -1 && first !== batchDim) problem = `the batch dimension is ${first}, the input's is ${batchDim}`;
    if (problem !== undefined) {
      const need = batching ? formatDims(wanted) : `[${batchDim}, ${wanted.join(', ')}]`;
      const what = size === undefined ? 'one embedding per image' : `${size} classes in the manifest`;
      problems.push(
        `${role} output \`${name}\`: the configuration says dims ${formatDims(out.dims)}${batching ? ' (after the batch dimension)' : ''}, the manifest needs ${need} (${what}): ${problem}`,
      );
    }
  };
  checkOutput('probabilities', outputs.probabilities, classes.length);
  if (outputs.embedding !== undefined) checkOutput('embedding', outputs.embedding, undefined);

  return { problems, maxRows: batching ? config.maxBatchSize : batchDim === 1 ? 1 : undefined, batchOfOne: !batching && batchDim === 1 };
}

/**
 * Throws MODEL_METADATA_MISMATCH listing every problem of the configuration, naming the server and
 * the manifest file; returns the batch limit when all is well.
 */
export function assertModelConfig(
  manifest: Manifest,
  config: ModelConfig,
  sides: { readonly server: string; readonly manifestFile: string },
): ModelConfigCheck {
  const check = checkModelConfig(manifest, config);
  if (check.problems.length > 0) {
    throw new CentaurError(
      'MODEL_METADATA_MISMATCH',
      `the configuration of model \`${config.name}\` on ${sides.server} (max_batch_size ${config.maxBatchSize}) does not match the manifest ${sides.manifestFile}:\n` +
        check.problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
  return check;
}

/** One line for logs: `2 × KIND_GPU (GPUs 0, 1)`. */
export function describeInstanceGroup(group: InstanceGroup): string {
  return `${group.count} × ${group.kind}${group.gpus.length === 0 ? '' : ` (GPU${group.gpus.length === 1 ? '' : 's'} ${group.gpus.join(', ')})`}`;
}

function dynamicBatching(where: string, value: unknown): { dynamicBatching?: DynamicBatching } {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw malformed(where, '`dynamic_batching` is not an object');
  const preferred = integers(value.preferred_batch_size ?? []);
  const delay = integer(value.max_queue_delay_microseconds ?? 0);
  if (preferred === undefined || delay === undefined) throw malformed(where, `dynamic_batching is ${JSON.stringify(value).slice(0, 200)}`);
  return { dynamicBatching: { preferredBatchSizes: preferred, maxQueueDelayMicroseconds: delay } };
}

function instanceGroups(where: string, value: unknown): InstanceGroup[] {
  const list = value ?? [];
  if (!Array.isArray(list)) throw malformed(where, '`instance_group` is not a list');
  return list.map((g: unknown) => {
    const count = isRecord(g) ? integer(g.count ?? 0) : undefined;
    const gpus = isRecord(g) ? integers(g.gpus ?? []) : undefined;
    if (!isRecord(g) || count === undefined || gpus === undefined) throw malformed(where, `an instance group is ${JSON.stringify(g).slice(0, 200)}`);
    return { name: typeof g.name === 'string' ? g.name : '', kind: enumName(g.kind ?? 0, KINDS), count, gpus };
  });
}

/** An integer from a number or a decimal string (protobuf's JSON writes 64-bit integers as strings). */
function integer(value: unknown): number | undefined {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : NaN;
  return Number.isSafeInteger(n) ? n : undefined;
}

function integers(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out = value.map(integer);
  return out.every((n): n is number => n !== undefined) ? out : undefined;
}

/** An enum's name, from its name or its number (a number with no name stays a number, as text). */
function enumName(value: unknown, names: readonly string[]): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return names[value] ?? String(value);
  return names[0] as string;
}

/** Triton's `TYPE_FP32` as the protocol's `FP32`; `TYPE_STRING` is `BYTES`; others keep Triton's name. */
function protocolDatatype(type: string): string {
  if (type === 'TYPE_STRING') return 'BYTES';
  if (type === 'TYPE_BF16' || type === 'TYPE_INVALID' || !type.startsWith('TYPE_')) return type;
  return type.slice('TYPE_'.length);
}

/** The protocol's `FP32` back as Triton's `TYPE_FP32`, for messages about config.pbtxt. */
function tritonType(datatype: string): string {
  if (datatype === 'BYTES') return 'TYPE_STRING';
  return datatype.startsWith('TYPE_') ? datatype : `TYPE_${datatype}`;
}

/** Why `dims` cannot take what `expected` describes (-1 on either side: any size), or undefined when it can. */
function compareDims(dims: readonly number[], expected: readonly number[]): string | undefined {
  if (dims.length !== expected.length) return `rank ${dims.length}, not ${expected.length}`;
  for (let i = 0; i < expected.length; i += 1) {
    const d = dims[i] as number;
    const e = expected[i] as number;
    if (d !== -1 && e !== -1 && d !== e) return `dimension ${i} is ${d}, not ${e}`;
  }
  return undefined;
}

function formatDims(dims: readonly number[]): string {
  return `[${dims.join(', ')}]`;
}

function names(tensors: readonly ModelConfigTensor[]): string {
  return tensors.length === 0 ? 'none' : tensors.map((t) => `\`${t.name}\` ${tritonType(t.datatype)} ${formatDims(t.dims)}`).join(', ');
}

function malformed(where: string, message: string): CentaurError {
  return new CentaurError('INFERENCE_FAILED', `${where}: malformed model configuration: ${message}`, { retriable: false });
}
