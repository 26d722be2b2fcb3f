/**
 * The classifier of a TensorFlow.js graph model, found and replaced: the dense layer after the
 * pooled embedding (`_FusedMatMul` with a fused `BiasAdd`, or `MatMul` → `BiasAdd`) and the
 * `Softmax` that the signature's probabilities output reads. Replacing it rewrites the two weight
 * entries of the weights manifest, the shapes the graph records for them (the constants, the fused
 * op's `_input_shapes`, the signature's output) and the weight bytes — every other weight is copied
 * byte for byte, in the same order, so the backbone is the parent's. The weights come back as one
 * buffer, written as shards by the caller. Quantized or string head weights and transposed kernels
 * are refused.
 */
import { createHash } from 'node:crypto';

/** A node of the graph as model.json holds it. */
interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** One weight entry of the weights manifest. */
export interface TfjsWeightEntry {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** A weights manifest group: shard paths and the weights laid out across them in order. */
export interface TfjsWeightGroup {
  paths: string[];
  weights: TfjsWeightEntry[];
}

/** model.json of a graph model (the parts read here; the rest is kept as it is). */
export interface TfjsGraphModelJson {
  format?: string;
  modelTopology: { node: TfNode[]; [key: string]: unknown };
  weightsManifest: TfjsWeightGroup[];
  signature?: { inputs?: Record<string, unknown>; outputs?: Record<string, { name: string; tensorShape?: { dim?: { size: string }[] }; [key: string]: unknown }> };
  [key: string]: unknown;
}

/** Where the head is. */
export interface TfjsClassifier {
  readonly kernelName: string;
  readonly biasName: string;
  /** Embedding size (kernel rows) and classes (kernel columns). */
  readonly inputs: number;
  readonly classes: number;
}

/** A plain Error naming the problem; the caller wraps it. */
function fail(problem: string): never {
  throw new Error(`cannot edit the TF.js model's classifier: ${problem}`);
}

/** A node input without its output index or control marker. */
function nodeOf(input: string): string {
  return input.replace(/^\^/, '').replace(/:\d+$/, '');
}

/** Follows Identity nodes back to the node that makes a tensor. */
function producer(nodes: Map<string, TfNode>, name: string): TfNode {
  let node = nodes.get(nodeOf(name)) ?? fail(`no node ${name}`);
  for (let hops = 0; node.op === 'Identity' && hops < 8; hops += 1) node = nodes.get(nodeOf(node.input?.[0] ?? '')) ?? fail(`${node.name} reads a missing node`);
  return node;
}

function signatureOutput(json: TfjsGraphModelJson, key: string): string {
  return json.signature?.outputs?.[key]?.name ?? fail(`the signature has no output \`${key}\``);
}

/** Finds the dense layer and softmax behind the probabilities output, fed by the embedding output's tensor. */
export function findTfjsClassifier(json: TfjsGraphModelJson, outputs: { readonly embedding: string; readonly probabilities: string }): TfjsClassifier {
  const nodes = new Map(json.modelTopology.node.map((n) => [n.name, n]));
  const softmax = producer(nodes, signatureOutput(json, outputs.probabilities));
  if (softmax.op !== 'Softmax') fail(`the probabilities output comes from ${softmax.op}, not Softmax`);
  const dense = producer(nodes, softmax.input?.[0] ?? '');
  let matmul: TfNode;
  let biasName: string;
  if (dense.op === '_FusedMatMul') {
    const fused = ((dense.attr?.fused_ops as { list?: { s?: string[] } } | undefined)?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
    if (fused.length !== 1 || fused[0] !== 'BiasAdd') fail(`the dense layer fuses ${fused.join(', ') || 'nothing'}, not exactly BiasAdd`);
    matmul = dense;
    biasName = nodeOf(dense.input?.[2] ?? fail('the fused dense layer has no bias'));
  } else if (dense.op === 'BiasAdd' || dense.op === 'Add' || dense.op === 'AddV2') {
    matmul = producer(nodes, dense.input?.[0] ?? '');
    if (matmul.op !== 'MatMul') fail(`the bias is added to ${matmul.op}, not MatMul`);
    biasName = nodeOf(dense.input?.[1] ?? '');
  } else {
    return fail(`the softmax reads ${dense.op}, not a dense layer`);
  }
  for (const flag of ['transpose_a', 'transpose_b']) if ((matmul.attr?.[flag] as { b?: boolean } | undefined)?.b === true) fail(`the dense layer sets ${flag}`);
  const embeddingNode = producer(nodes, signatureOutput(json, outputs.embedding));
  if (producer(nodes, matmul.input?.[0] ?? '').name !== embeddingNode.name) fail('the dense layer does not read the embedding output');
  const kernelName = nodeOf(matmul.input?.[1] ?? '');
  const weights = json.weightsManifest.flatMap((g) => g.weights);
  const kernel = weights.find((w) => w.name === kernelName) ?? fail(`the kernel ${kernelName} is not a stored weight`);
  const bias = weights.find((w) => w.name === biasName) ?? fail(`the bias ${biasName} is not a stored weight`);
  for (const w of [kernel, bias]) if (w.dtype !== 'float32' || w.quantization !== undefined) fail(`${w.name} is ${w.quantization === undefined ? w.dtype : `quantized to ${w.quantization.dtype}`}, not float32`);
  if (kernel.shape.length !== 2 || bias.shape.length !== 1 || bias.shape[0] !== kernel.shape[1]) fail(`kernel ${JSON.stringify(kernel.shape)} and bias ${JSON.stringify(bias.shape)} do not make a dense layer`);
  return { kernelName, biasName, inputs: kernel.shape[0]!, classes: kernel.shape[1]! };
}

/** Bytes a weight entry takes in the shards. */
function byteLength(w: TfjsWeightEntry): number {
  const count = w.shape.reduce((a, b) => a * b, 1);
  const dtype = w.quantization?.dtype ?? w.dtype;
  const per: Record<string, number> = { float32: 4, int32: 4, uint8: 1, int8: 1, uint16: 2, float16: 2, bool: 1, complex64: 8 };
  const size = per[dtype];
  if (size === undefined) fail(`weight ${w.name} has dtype ${dtype}, whose size is not fixed`);
  return count * size;
}

/** Each weight's bytes, in manifest order, from the groups' concatenated shards. */
export function weightSlices(json: TfjsGraphModelJson, groups: readonly Uint8Array[]): { entry: TfjsWeightEntry; bytes: Uint8Array }[] {
  if (groups.length !== json.weightsManifest.length) fail(`${groups.length} weight groups read, the manifest lists ${json.weightsManifest.length}`);
  return json.weightsManifest.flatMap((group, g) => {
    const data = groups[g]!;
    let at = 0;
    const out = group.weights.map((entry) => {
      const length = byteLength(entry);
      if (at + length > data.byteLength) fail(`weight ${entry.name} runs past the end of its shards`);
      const bytes = data.subarray(at, at + length);
      at += length;
      return { entry, bytes };
    });
    if (at !== data.byteLength) fail(`the shards of group ${g + 1} hold ${data.byteLength} bytes, the weights take ${at}`);
    return out;
  });
}

/** SHA-256 over every weight's name and bytes but those named; why: proves the backbone unchanged. */
export function tfjsWeightsDigest(json: TfjsGraphModelJson, groups: readonly Uint8Array[], except: readonly string[]): string {
  const hash = createHash('sha256');
  for (const { entry, bytes } of weightSlices(json, groups)) {
    if (except.includes(entry.name)) continue;
    hash.update(entry.name).update('\0').update(bytes);
  }
  return hash.digest('hex');
}

/** Sets a Const node's tensor shape. */
function setConstShape(node: TfNode | undefined, shape: readonly number[]): void {
  const tensor = (node?.attr?.value as { tensor?: { tensorShape?: unknown } } | undefined)?.tensor;
  if (tensor !== undefined) tensor.tensorShape = { dim: shape.map((s) => ({ size: String(s) })) };
}

/**
 * The model with its classifier replaced by `kernel` (inputs × classes, row-major) and `bias`: a
 * new model.json (one weight group, shards named by `shardPaths` for the buffer's size) and the
 * weights buffer, every other weight's bytes as they were.
 */
export function replaceTfjsClassifier(
  json: TfjsGraphModelJson,
  groups: readonly Uint8Array[],
  outputs: { readonly embedding: string; readonly probabilities: string },
  weights: { readonly kernel: Float32Array; readonly bias: Float32Array; readonly classes: number },
  shardPaths: (bytes: number) => string[],
): { json: TfjsGraphModelJson; weights: Uint8Array } {
  const head = findTfjsClassifier(json, outputs);
  const n = weights.classes;
  if (weights.bias.length !== n || weights.kernel.length !== head.inputs * n) fail(`a head of ${head.inputs} × ${n} needs ${head.inputs * n} kernel and ${n} bias values`);
  const next = structuredClone(json);
  const slices = weightSlices(json, groups);
  const parts: Uint8Array[] = [];
  const entries: TfjsWeightEntry[] = [];
  for (const { entry, bytes } of slices) {
    const copy = structuredClone(entry);
    if (entry.name === head.kernelName) {
      copy.shape = [head.inputs, n];
      parts.push(new Uint8Array(weights.kernel.buffer, weights.kernel.byteOffset, weights.kernel.byteLength));
    } else if (entry.name === head.biasName) {
      copy.shape = [n];
      parts.push(new Uint8Array(weights.bias.buffer, weights.bias.byteOffset, weights.bias.byteLength));
    } else {
      parts.push(bytes);
    }
    entries.push(copy);
  }
  const buffer = Buffer.concat(parts);
  next.weightsManifest = [{ paths: shardPaths(buffer.byteLength), weights: entries }];
  const nodes = new Map(next.modelTopology.node.map((node) => [node.name, node]));
  setConstShape(nodes.get(head.kernelName), [head.inputs, n]);
  setConstShape(nodes.get(head.biasName), [n]);
  for (const node of next.modelTopology.node) {
    const shapes = (node.attr?._input_shapes as { list?: { shape?: { dim?: { size: string }[] }[] } } | undefined)?.list?.shape;
    if (node.input?.some((i) => nodeOf(i) === head.kernelName) === true && shapes !== undefined && shapes.length >= 2) shapes[1] = { dim: [{ size: String(head.inputs) }, { size: String(n) }] };
  }
  const probabilities = next.signature?.outputs?.[outputs.probabilities];
  const dims = probabilities?.tensorShape?.dim;
  if (dims !== undefined && dims.length === 2) dims[1] = { size: String(n) };
  return { json: next, weights: buffer };
}
