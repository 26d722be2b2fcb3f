/**
 * The classification head of an ONNX model, found and replaced in the protobuf itself: the
 * `MatMul(embedding, kernel) → Add(bias) → Softmax → probabilities` chain after the pooled
 * embedding. Replacing it rewrites the two weight initializers and the probabilities output's class
 * dimension and copies every other byte of the file as it was, so the backbone, the input and the
 * output names stay exactly those of the parent (and every backend that serves the parent serves
 * the new version). Field numbers are those of onnx.proto (ModelProto.graph 7; GraphProto node 1,
 * initializer 5, output 12, value_info 13; NodeProto input 1, output 2, op_type 4; TensorProto
 * dims 1, data_type 2, name 8, raw_data 9, external_data 13).
 */
import { createHash } from 'node:crypto';
import protobuf from 'protobufjs/minimal.js';
import { CentaurError } from '../core/errors.js';
import { encodeBytesField, rewriteFields, wireFields, wireInt64s, wireString, wireVarint } from './protobuf-wire.js';
import type { WireField } from './protobuf-wire.js';

const MODEL_GRAPH = 7;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;
const NODE = { input: 1, output: 2, opType: 4 } as const;
const TENSOR = { dims: 1, dataType: 2, name: 8, rawData: 9, externalData: 13 } as const;
const VALUE_INFO = { name: 1, type: 2 } as const;
const TYPE_TENSOR = 1;
const TENSOR_TYPE_SHAPE = 2;
const SHAPE_DIM = 1;
const DIM_VALUE = 1;
const FLOAT = 1;

/** The model's head as found: its weight initializers and sizes. */
export interface OnnxClassifier {
  readonly kernelName: string;
  readonly biasName: string;
  /** Embedding size (the kernel's rows). */
  readonly dims: number;
  /** Classes the head answers (the kernel's columns). */
  readonly classes: number;
  /** The two tensors the chain passes between MatMul, Add and Softmax. */
  readonly intermediates: readonly string[];
}

/** The head's new weights: kernel row-major [dims × classes], bias [classes]. */
export interface HeadWeights {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  readonly classes: number;
}

interface NodeInfo {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
}

interface TensorInfo {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  readonly external: boolean;
}

function graphOf(model: Uint8Array): Uint8Array {
  const graph = wireFields(model).find((f) => f.field === MODEL_GRAPH);
  if (graph === undefined) throw new CentaurError('MODEL_LOAD_FAILED', 'the ONNX model has no graph');
  return graph.value;
}

function nodeInfo(f: WireField): NodeInfo {
  const fields = wireFields(f.value);
  return {
    opType: fields.filter((x) => x.field === NODE.opType).map(wireString)[0] ?? '',
    inputs: fields.filter((x) => x.field === NODE.input).map(wireString),
    outputs: fields.filter((x) => x.field === NODE.output).map(wireString),
  };
}

function tensorInfo(f: WireField): TensorInfo {
  const fields = wireFields(f.value);
  const dataType = fields.find((x) => x.field === TENSOR.dataType);
  return {
    name: fields.filter((x) => x.field === TENSOR.name).map(wireString)[0] ?? '',
    dims: wireInt64s(fields, TENSOR.dims),
    dataType: dataType === undefined ? 0 : wireVarint(dataType),
    external: fields.some((x) => x.field === TENSOR.externalData),
  };
}

/**
 * Finds the head: the node making `probabilities` is a Softmax of an Add of a MatMul of the
 * `embedding` output by a float initializer [dims, classes], plus a float bias initializer.
 * MODEL_LOAD_FAILED says what differs when the graph is built another way.
 */
export function findClassifier(model: Uint8Array, outputs: { readonly embedding: string; readonly probabilities: string }): OnnxClassifier {
  const graph = wireFields(graphOf(model));
  const nodes = graph.filter((f) => f.field === GRAPH.node).map(nodeInfo);
  const tensors = new Map(graph.filter((f) => f.field === GRAPH.initializer).map(tensorInfo).map((t) => [t.name, t]));
  const fail = (why: string): never => {
    throw new CentaurError('MODEL_LOAD_FAILED', `cannot replace the head of this ONNX graph: ${why}; the head must be MatMul(${outputs.embedding}, kernel) → Add(bias) → Softmax → ${outputs.probabilities}`);
  };
  const producer = (tensor: string): NodeInfo => nodes.find((n) => n.outputs.includes(tensor)) ?? fail(`nothing makes \`${tensor}\``);
  const softmax = producer(outputs.probabilities);
  if (softmax.opType !== 'Softmax') fail(`\`${outputs.probabilities}\` comes from ${softmax.opType}, not Softmax`);
  const logits = softmax.inputs[0] ?? fail('the Softmax has no input');
  const add = producer(logits);
  if (add.opType !== 'Add' || add.inputs.length !== 2) fail(`the Softmax reads ${add.opType}, not Add`);
  const biasName = add.inputs.find((i) => tensors.has(i)) ?? fail('the Add has no bias initializer');
  const product = add.inputs.find((i) => i !== biasName) ?? fail('the Add has one input');
  const matmul = producer(product);
  if (matmul.opType !== 'MatMul' || matmul.inputs[0] !== outputs.embedding) fail(`the Add reads ${matmul.opType}(${matmul.inputs.join(', ')})`);
  const kernelName = matmul.inputs[1] ?? fail('the MatMul has one input');
  const kernel = tensors.get(kernelName) ?? fail(`the MatMul's weights \`${kernelName}\` are not an initializer`);
  const bias = tensors.get(biasName) as TensorInfo;
  if (kernel.dataType !== FLOAT || bias.dataType !== FLOAT) fail('the head is not float32');
  if (kernel.external || bias.external) fail('the head weights are stored outside the file');
  const [dims, classes] = kernel.dims;
  if (kernel.dims.length !== 2 || dims === undefined || classes === undefined) fail(`the kernel is [${kernel.dims.join(', ')}], not [dims, classes]`);
  if (bias.dims.reduce((a, b) => a * b, 1) !== classes) fail(`the bias is [${bias.dims.join(', ')}] for ${classes} classes`);
  // Older exporters also list initializers as graph inputs (IR < 4), with their shapes: not edited here.
  const inputs = graph.filter((f) => f.field === GRAPH.input).map((f) => wireFields(f.value).filter((x) => x.field === VALUE_INFO.name).map(wireString)[0]);
  if (inputs.includes(kernelName) || inputs.includes(biasName)) fail('the head weights are also graph inputs (an exporter keeping initializers as inputs); export the model without them');
  const users = nodes.filter((n) => n.inputs.includes(kernelName) || n.inputs.includes(biasName));
  if (users.length !== 2) fail('the head weights are shared with other nodes');
  return { kernelName, biasName, dims: dims as number, classes: classes as number, intermediates: [product, logits] };
}

/** A float32 TensorProto: dims, data type, name and the values as raw little-endian bytes. */
function floatTensor(name: string, dims: readonly number[], values: Float32Array): Uint8Array {
  const writer = protobuf.Writer.create();
  writer.uint32((TENSOR.dims << 3) | 2).fork();
  for (const d of dims) writer.int64(d);
  writer.ldelim();
  writer.uint32(TENSOR.dataType << 3).int32(FLOAT);
  writer.uint32((TENSOR.name << 3) | 2).string(name);
  const raw = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => raw.writeFloatLE(v, i * 4));
  writer.uint32((TENSOR.rawData << 3) | 2).bytes(raw);
  return writer.finish();
}

/** A ValueInfo with its last tensor dimension set to `size` (the class count); other bytes kept. */
function withLastDim(valueInfo: Uint8Array, size: number): Uint8Array {
  return rewriteFields(valueInfo, (f) => {
    if (f.field !== VALUE_INFO.type) return undefined;
    return rewriteFields(f.value, (t) => {
      if (t.field !== TYPE_TENSOR) return undefined;
      return rewriteFields(t.value, (s) => {
        if (s.field !== TENSOR_TYPE_SHAPE) return undefined;
        const dims = wireFields(s.value).filter((d) => d.field === SHAPE_DIM);
        const last = dims[dims.length - 1];
        if (last === undefined) return undefined;
        const dim = protobuf.Writer.create().uint32(DIM_VALUE << 3).int64(size).finish();
        return rewriteFields(s.value, (d) => (d.start === last.start ? dim : undefined));
      });
    });
  });
}

/**
 * The model with its head replaced by `weights`; every byte outside the two weight tensors and the
 * probabilities output's class dimension is copied as it was (shape annotations of the head's two
 * intermediate tensors are dropped; onnxruntime infers them).
 */
export function replaceClassifier(model: Uint8Array, outputs: { readonly embedding: string; readonly probabilities: string }, weights: HeadWeights): Uint8Array {
  const head = findClassifier(model, outputs);
  if (weights.kernel.length !== head.dims * weights.classes || weights.bias.length !== weights.classes) {
    throw new CentaurError('CONFIG_INVALID', `the new head is ${weights.kernel.length / Math.max(1, weights.classes)}×${weights.classes} with ${weights.bias.length} biases; the model's embedding has ${head.dims} dims`);
  }
  const replaced = new Set<string>();
  const graph = rewriteFields(graphOf(model), (f) => {
    if (f.field === GRAPH.initializer) {
      const name = tensorInfo(f).name;
      if (name === head.kernelName) {
        replaced.add(name);
        return floatTensor(name, [head.dims, weights.classes], weights.kernel);
      }
      if (name === head.biasName) {
        replaced.add(name);
        return floatTensor(name, [weights.classes], weights.bias);
      }
      return undefined;
    }
    if (f.field === GRAPH.output || f.field === GRAPH.valueInfo) {
      const name = wireFields(f.value).filter((x) => x.field === VALUE_INFO.name).map(wireString)[0];
      if (f.field === GRAPH.output && name === outputs.probabilities) return withLastDim(f.value, weights.classes);
      if (f.field === GRAPH.valueInfo && name !== undefined && head.intermediates.includes(name)) return null;
    }
    return undefined;
  });
  if (replaced.size !== 2) throw new CentaurError('MODEL_LOAD_FAILED', 'the head weights were not found among the initializers');
  return rewriteFields(model, (f) => (f.field === MODEL_GRAPH ? graph : undefined));
}

/**
 * SHA-256 over every initializer but `except`, by name: what stays the same when only the head is
 * replaced (the backbone's weights), recorded in a new version's lineage and checked by its tests.
 */
export function initializersDigest(model: Uint8Array, except: readonly string[]): string {
  const skip = new Set(except);
  const tensors = wireFields(graphOf(model))
    .filter((f) => f.field === GRAPH.initializer)
    .map((f) => ({ name: tensorInfo(f).name, bytes: f.value }))
    .filter((t) => !skip.has(t.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  for (const t of tensors) hash.update(encodeBytesField(1, t.bytes));
  return hash.digest('hex');
}
