/**
 * A Triton Inference Server model repository for a Centaur model folder (manifest + ONNX file):
 *
 *     <outDir>/<model>/config.pbtxt        onnxruntime backend, batching, inputs and outputs
 *     <outDir>/<model>/labels.txt          the manifest's classes, one a line (label_filename)
 *     <outDir>/<model>/<version>/model.onnx a copy of the model file
 *
 * Input name, datatype, layout and dims come from the manifest; the outputs' datatypes and dims
 * from the ONNX file itself (onnxruntime reads them), checked against the manifest, so a Triton
 * serving the repository passes `infer`'s metadata check. `exportTritonRepository` is what
 * `centaur models export-triton` runs; `tritonConfigText` renders the file alone.
 */
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import type * as OrtModule from 'onnxruntime-node';
import { CentaurError } from '../core/errors.js';
import { loadManifest } from './manifest.js';
import type { LoadedManifest } from './manifest.js';

/** Where Triton places a model's instances: `KIND_AUTO` picks the GPUs when there are any, else the CPU. */
export const INSTANCE_KINDS = ['KIND_AUTO', 'KIND_GPU', 'KIND_CPU'] as const;
export type InstanceKind = (typeof INSTANCE_KINDS)[number];

/** Settings of the export; every one has a default. */
export interface TritonExportOptions {
  /** The model's name in the repository (default: the manifest's `name`). */
  readonly modelName?: string;
  /** The version folder, a positive integer (default: the manifest's `version`, when it is one). */
  readonly version?: string;
  /** `max_batch_size`: the most images one execution takes (default 64). */
  readonly maxBatchSize?: number;
  /** `dynamic_batching.preferred_batch_size` (default 8, 16, 32); each at most `maxBatchSize`. */
  readonly preferredBatchSizes?: readonly number[];
  /** `dynamic_batching.max_queue_delay_microseconds`: how long a request may wait to be batched (default 500). */
  readonly maxQueueDelayMicroseconds?: number;
  /** `instance_group.count`: model instances per device (default 1). */
  readonly instances?: number;
  /** `instance_group.kind` (default KIND_AUTO). */
  readonly kind?: InstanceKind;
}

/** The defaults of the export options. */
export const TRITON_DEFAULTS = {
  maxBatchSize: 64,
  preferredBatchSizes: [8, 16, 32],
  maxQueueDelayMicroseconds: 500,
  instances: 1,
  kind: 'KIND_AUTO',
} as const satisfies TritonExportOptions;

/** One tensor of the configuration: dims without the batch dimension (-1: any size). */
export interface TritonTensor {
  readonly name: string;
  /** A Triton data type, e.g. `TYPE_FP32`. */
  readonly dataType: string;
  readonly dims: readonly number[];
  /** `FORMAT_NHWC` or `FORMAT_NCHW` for an image input. */
  readonly format?: 'FORMAT_NHWC' | 'FORMAT_NCHW';
  /** A file of class names beside config.pbtxt, for Triton's classification extension. */
  readonly labelFilename?: string;
}

/** Everything config.pbtxt says. */
export interface TritonModelConfig {
  readonly name: string;
  readonly maxBatchSize: number;
  readonly input: TritonTensor;
  readonly outputs: readonly TritonTensor[];
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayMicroseconds: number;
  readonly instances: number;
  readonly kind: InstanceKind;
  /** A comment line at the top, e.g. where the file came from. */
  readonly comment?: string;
}

/** What an export wrote. */
export interface TritonExport {
  readonly model: string;
  readonly version: string;
  /** `<outDir>/<model>`. */
  readonly modelDir: string;
  readonly configPath: string;
  readonly labelsPath: string;
  readonly modelPath: string;
  readonly config: TritonModelConfig;
}

/** onnxruntime's element type names → Triton's data types. */
const DATA_TYPES: Readonly<Record<string, string>> = {
  bool: 'TYPE_BOOL',
  uint8: 'TYPE_UINT8',
  uint16: 'TYPE_UINT16',
  uint32: 'TYPE_UINT32',
  uint64: 'TYPE_UINT64',
  int8: 'TYPE_INT8',
  int16: 'TYPE_INT16',
  int32: 'TYPE_INT32',
  int64: 'TYPE_INT64',
  float16: 'TYPE_FP16',
  float32: 'TYPE_FP32',
  float64: 'TYPE_FP64',
  string: 'TYPE_STRING',
};

const LABELS_FILE = 'labels.txt';
const MODEL_FILE = 'model.onnx';

/** Writes the repository entry of the model in `manifestDir` under `outDir`; throws MODEL_LOAD_FAILED or CONFIG_INVALID. */
export async function exportTritonRepository(manifestDir: string, outDir: string, options: TritonExportOptions = {}): Promise<TritonExport> {
  const model = await loadManifest(manifestDir);
  const { manifest } = model;
  if (manifest.format !== 'onnx') {
    throw new CentaurError('MODEL_LOAD_FAILED', `${model.modelPath}: the model is ${manifest.format}; the Triton export writes ONNX models (onnxruntime backend)`);
  }
  const name = options.modelName ?? manifest.name;
  const version = options.version ?? manifest.version;
  const settings = checkOptions(options, name, version, manifest.version);
  const outputs = await modelOutputs(model);
  const { input } = manifest;
  const config: TritonModelConfig = {
    name,
    ...settings,
    input: {
      name: input.name,
      dataType: DATA_TYPES[input.dtype] as string,
      format: input.layout === 'NHWC' ? 'FORMAT_NHWC' : 'FORMAT_NCHW',
      dims: input.layout === 'NHWC' ? [input.height, input.width, input.channels] : [input.channels, input.height, input.width],
    },
    outputs,
    comment: `Generated by \`centaur models export-triton\` from ${manifest.name} version ${manifest.version} (${manifest.file}${manifest.sha256 === undefined ? '' : `, sha256 ${manifest.sha256}`}).`,
  };

  const modelDir = path.join(path.resolve(outDir), name);
  const versionDir = path.join(modelDir, version);
  await mkdir(versionDir, { recursive: true });
  const configPath = path.join(modelDir, 'config.pbtxt');
  const labelsPath = path.join(modelDir, LABELS_FILE);
  const modelPath = path.join(versionDir, MODEL_FILE);
  await copyFile(model.modelPath, modelPath);
  await writeFile(labelsPath, `${manifest.classes.join('\n')}\n`);
  await writeFile(configPath, tritonConfigText(config));
  return { model: name, version, modelDir, configPath, labelsPath, modelPath, config };
}

/** Renders config.pbtxt (protobuf text format) for a configuration. */
export function tritonConfigText(config: TritonModelConfig): string {
  const tensor = (t: TritonTensor): string[] => [
    '  {',
    `    name: ${quote(t.name)}`,
    `    data_type: ${t.dataType}`,
    ...(t.format === undefined ? [] : [`    format: ${t.format}`]),
    `    dims: ${list(t.dims)}`,
    ...(t.labelFilename === undefined ? [] : [`    label_filename: ${quote(t.labelFilename)}`]),
    '  }',
  ];
  const joined = (blocks: string[][]): string[] => blocks.flatMap((b, i) => (i < blocks.length - 1 ? [...b.slice(0, -1), `${b[b.length - 1] as string},`] : b));
  const lines = [
    ...(config.comment === undefined ? [] : config.comment.split('\n').map((l) => `# ${l}`)),
    `name: ${quote(config.name)}`,
    'platform: "onnxruntime_onnx"',
    'backend: "onnxruntime"',
    `max_batch_size: ${config.maxBatchSize}`,
    'input [',
    ...tensor(config.input),
    ']',
    'output [',
    ...joined(config.outputs.map(tensor)),
    ']',
    'dynamic_batching {',
    `  preferred_batch_size: ${list(config.preferredBatchSizes)}`,
    `  max_queue_delay_microseconds: ${config.maxQueueDelayMicroseconds}`,
    '}',
    'instance_group [',
    '  {',
    `    count: ${config.instances}`,
    `    kind: ${config.kind}`,
    '  }',
    ']',
  ];
  return `${lines.join('\n')}\n`;
}

/** The settings with defaults, checked; throws CONFIG_INVALID naming every problem. */
function checkOptions(
  options: TritonExportOptions,
  name: string,
  version: string,
  manifestVersion: string,
): Pick<TritonModelConfig, 'maxBatchSize' | 'preferredBatchSizes' | 'maxQueueDelayMicroseconds' | 'instances' | 'kind'> {
  const maxBatchSize = options.maxBatchSize ?? TRITON_DEFAULTS.maxBatchSize;
  const preferred = [...(options.preferredBatchSizes ?? TRITON_DEFAULTS.preferredBatchSizes)];
  const maxQueueDelayMicroseconds = options.maxQueueDelayMicroseconds ?? TRITON_DEFAULTS.maxQueueDelayMicroseconds;
  const instances = options.instances ?? TRITON_DEFAULTS.instances;
  const kind = options.kind ?? TRITON_DEFAULTS.kind;
  const problems: string[] = [];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) problems.push(`model name \`${name}\` is not a folder name Triton takes (letters, digits, _ . -)`);
  if (!/^[1-9][0-9]*$/.test(version)) {
    problems.push(
      options.version === undefined
        ? `the manifest's version \`${manifestVersion}\` is not a positive integer, which Triton's version folders must be; give one with --version`
        : `version \`${version}\` is not a positive integer, which Triton's version folders must be`,
    );
  }
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1) problems.push(`max batch size must be a positive integer, got ${maxBatchSize}`);
  if (preferred.length === 0 || preferred.some((p) => !Number.isInteger(p) || p < 1)) {
    problems.push(`preferred batch sizes must be positive integers, got ${preferred.join(', ') || 'none'}`);
  } else if (preferred.some((p) => p > maxBatchSize)) {
    problems.push(`preferred batch sizes ${preferred.join(', ')} must not exceed the max batch size ${maxBatchSize}`);
  }
  if (!Number.isInteger(maxQueueDelayMicroseconds) || maxQueueDelayMicroseconds < 0) {
    problems.push(`max queue delay must be a whole number of microseconds, got ${maxQueueDelayMicroseconds}`);
  }
  if (!Number.isInteger(instances) || instances < 1) problems.push(`instances must be a positive integer, got ${instances}`);
  if (!(INSTANCE_KINDS as readonly string[]).includes(kind)) problems.push(`kind must be one of ${INSTANCE_KINDS.join(', ')}, got ${kind}`);
  if (problems.length > 0) throw new CentaurError('CONFIG_INVALID', `cannot export a Triton repository: ${problems.join('; ')}`);
  return { maxBatchSize, preferredBatchSizes: [...new Set(preferred)].sort((a, b) => a - b), maxQueueDelayMicroseconds, instances, kind };
}

/**
 * The outputs the manifest names, with datatypes and dims read from the ONNX file, checked:
 * the input as the manifest says, a dynamic batch dimension, as many probabilities as classes.
 */
async function modelOutputs(model: LoadedManifest): Promise<TritonTensor[]> {
  const { manifest, modelPath } = model;
  const fail = (problem: string, cause?: unknown): CentaurError =>
    new CentaurError('MODEL_LOAD_FAILED', `${modelPath}: ${problem}`, cause === undefined ? undefined : { cause });
  let ort: typeof OrtModule;
  try {
    ort = await import('onnxruntime-node');
  } catch (error) {
    throw fail(`cannot load onnxruntime-node to read the model's outputs (${(error as Error).message})`, error);
  }
  let session: InferenceSession;
  try {
    session = await ort.InferenceSession.create(modelPath, { executionProviders: ['cpu'], graphOptimizationLevel: 'disabled' });
  } catch (error) {
    throw fail(`onnxruntime cannot load the model (${(error as Error).message})`, error);
  }
  try {
    const { input, outputs, classes } = manifest;
    const inputMeta = session.inputMetadata.find((m) => m.name === input.name);
    if (inputMeta === undefined || !inputMeta.isTensor) throw fail(`the model has no tensor input \`${input.name}\` (inputs: ${session.inputNames.join(', ')})`);
    if (inputMeta.type !== input.dtype) throw fail(`input \`${input.name}\` is ${inputMeta.type}, the manifest says ${input.dtype}`);
    const expected = input.layout === 'NHWC' ? [input.height, input.width, input.channels] : [input.channels, input.height, input.width];
    const inputDims = batchedDims(inputMeta.shape, `input \`${input.name}\``, fail);
    if (inputDims.length !== 3 || inputDims.some((d, i) => d !== -1 && d !== expected[i])) {
      throw fail(`input \`${input.name}\` has dims [${inputDims.join(', ')}] after the batch, the manifest says ${input.layout} [${expected.join(', ')}]`);
    }
    const tensors: TritonTensor[] = [];
    for (const [role, name] of [
      ['probabilities', outputs.probabilities],
      ['embedding', outputs.embedding],
    ] as const) {
      if (name === undefined) continue;
      const meta = session.outputMetadata.find((m) => m.name === name);
      if (meta === undefined || !meta.isTensor) throw fail(`the model has no tensor output \`${name}\` for ${role} (outputs: ${session.outputNames.join(', ')})`);
      const dataType = DATA_TYPES[meta.type];
      if (dataType === undefined) throw fail(`output \`${name}\` is ${meta.type}, which Triton has no data type for`);
      const dims = batchedDims(meta.shape, `output \`${name}\``, fail);
      if (role === 'probabilities') {
        if (dims.length !== 1 || (dims[0] !== -1 && dims[0] !== classes.length)) {
          throw fail(`output \`${name}\` has dims [${dims.join(', ')}] after the batch; the manifest lists ${classes.length} classes`);
        }
        tensors.push({ name, dataType, dims: [classes.length], labelFilename: LABELS_FILE });
      } else {
        tensors.push({ name, dataType, dims });
      }
    }
    return tensors;
  } finally {
    await session.release();
  }
}

/** The dims after a dynamic batch dimension (symbolic or -1 dims become -1). */
function batchedDims(shape: readonly (number | string)[], what: string, fail: (problem: string) => CentaurError): number[] {
  if (shape.length === 0) throw fail(`${what} has no dims; Triton batching needs a batch dimension first`);
  const [batch, ...rest] = shape;
  if (typeof batch === 'number' && batch > 0) {
    throw fail(`${what} has a fixed batch dimension of ${batch}; Triton's batching needs a dynamic first dimension (export the model with one)`);
  }
  return rest.map((d) => (typeof d === 'number' && d > 0 ? d : -1));
}

function quote(text: string): string {
  return `"${text.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function list(values: readonly number[]): string {
  return `[ ${values.join(', ')} ]`;
}
