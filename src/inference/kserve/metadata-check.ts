/**
 * Checks, at start, that the model a KServe v2 server serves is the model the manifest describes:
 * the input's name, datatype and shape (with -1 for the batch dimension, or 1 for a model whose
 * configuration takes one image per request), and the outputs that carry the probabilities and the
 * embedding. Every difference is reported, naming both sides.
 */
import { CentaurError } from '../../core/errors.js';
import type { Manifest } from '../manifest.js';
import type { InputDatatype, ModelMetadata, TensorMetadata } from './types.js';

/** What the check found: every problem, and how to send the input when there is none. */
export interface MetadataCheck {
  /** One sentence per difference; empty when the server's model fits the manifest. */
  readonly problems: readonly string[];
  /** The input datatype to send: FP32 or FP16 for a float32 manifest (FP16 converted), UINT8 for uint8. */
  readonly inputDatatype: InputDatatype | undefined;
  /** The largest batch per request, where the server says. */
  readonly maxBatchSize: number | undefined;
}

/** What else the start-up knows about the served model. */
export interface MetadataCheckOptions {
  /** The model's configuration takes exactly one image per request: a batch dimension of 1 is right. */
  readonly batchOfOne?: boolean;
}

const FLOAT_OUTPUTS: ReadonlySet<string> = new Set(['FP16', 'FP32', 'FP64']);

/** Compares the server's model metadata with the manifest and lists every difference. */
export function checkModelMetadata(manifest: Manifest, metadata: ModelMetadata, options: MetadataCheckOptions = {}): MetadataCheck {
  const problems: string[] = [];
  const batch = options.batchOfOne === true ? 1 : -1;
  const { input, outputs, classes } = manifest;
  let inputDatatype: InputDatatype | undefined;

  const served = metadata.inputs.find((t) => t.name === input.name);
  if (served === undefined) {
    problems.push(`the manifest's input \`${input.name}\` is not an input of the server's model (inputs: ${names(metadata.inputs)})`);
  } else {
    const accepted: readonly InputDatatype[] = input.dtype === 'float32' ? ['FP32', 'FP16'] : ['UINT8'];
    inputDatatype = accepted.find((d) => d === served.datatype);
    if (inputDatatype === undefined) {
      problems.push(
        `input \`${input.name}\`: the server says datatype ${served.datatype}, the manifest says ${input.dtype} (sent as ${accepted.join(' or ')})`,
      );
    }
    const expected = input.layout === 'NHWC' ? [-1, input.height, input.width, input.channels] : [-1, input.channels, input.height, input.width];
    const shapeProblem = compareShape(served.shape, expected, batch);
    if (shapeProblem !== undefined) {
      problems.push(
        `input \`${input.name}\`: the server says shape ${formatShape(served.shape)}, the manifest says ${formatShape(expected)} (${input.layout} ${input.height}×${input.width}×${input.channels}): ${shapeProblem}`,
      );
    }
  }
  const others = metadata.inputs.filter((t) => t.name !== input.name);
  if (served !== undefined && others.length > 0) {
    problems.push(`the server's model has more inputs than the manifest's \`${input.name}\`: ${names(others)}; Centaur feeds one input`);
  }

  checkOutput(problems, metadata, 'probabilities', outputs.probabilities, classes.length, batch);
  if (outputs.embedding !== undefined) checkOutput(problems, metadata, 'embedding', outputs.embedding, undefined, batch);

  return { problems, inputDatatype: problems.length === 0 ? inputDatatype : undefined, maxBatchSize: metadata.maxBatchSize };
}

/**
 * Throws MODEL_METADATA_MISMATCH listing every problem, naming the server (`server`, e.g. its URL)
 * and the manifest file (`manifestFile`); returns the input datatype to send when all is well.
 */
export function assertModelMetadata(
  manifest: Manifest,
  metadata: ModelMetadata,
  sides: { readonly server: string; readonly manifestFile: string },
  options: MetadataCheckOptions = {},
): { readonly inputDatatype: InputDatatype; readonly maxBatchSize: number | undefined } {
  const check = checkModelMetadata(manifest, metadata, options);
  if (check.problems.length > 0 || check.inputDatatype === undefined) {
    throw new CentaurError(
      'MODEL_METADATA_MISMATCH',
      `model \`${metadata.name}\` on ${sides.server} does not match the manifest ${sides.manifestFile}:\n` +
        check.problems.map((p) => `  - ${p}`).join('\n'),
    );
  }
  return { inputDatatype: check.inputDatatype, maxBatchSize: check.maxBatchSize };
}

/** The output named by the manifest for `role`: present, floating point, [-1, size] (or [1, size]: `batch`). */
function checkOutput(problems: string[], metadata: ModelMetadata, role: string, name: string, size: number | undefined, batch: number): void {
  const served = metadata.outputs.find((t) => t.name === name);
  if (served === undefined) {
    problems.push(`the manifest's ${role} output \`${name}\` is not an output of the server's model (outputs: ${names(metadata.outputs)})`);
    return;
  }
  if (!FLOAT_OUTPUTS.has(served.datatype)) {
    problems.push(`${role} output \`${name}\`: the server says datatype ${served.datatype}, Centaur reads FP32, FP16 or FP64`);
  }
  const expected = [-1, size ?? -1];
  const shapeProblem = compareShape(served.shape, expected, batch);
  if (shapeProblem !== undefined) {
    const wanted = size === undefined ? '[-1, d] (a batch of embeddings)' : `${formatShape(expected)} (${size} classes in the manifest)`;
    problems.push(`${role} output \`${name}\`: the server says shape ${formatShape(served.shape)}, the manifest needs ${wanted}: ${shapeProblem}`);
  }
}

/**
 * Why a served shape cannot take what `expected` describes (-1 in `expected`: any size), or
 * undefined when it can. The first dimension is the batch: the server must say -1 there (or
 * `batch`, 1 for a model configured to take one image per request).
 */
function compareShape(served: readonly number[], expected: readonly number[], batch: number): string | undefined {
  if (served.length !== expected.length) return `rank ${served.length}, not ${expected.length}`;
  if (served[0] !== -1 && served[0] !== batch) return `the batch dimension is fixed at ${served[0]}; it must be -1 (any batch size)`;
  for (let i = 1; i < expected.length; i += 1) {
    const s = served[i] as number;
    const e = expected[i] as number;
    if (s !== -1 && e !== -1 && s !== e) return `dimension ${i} is ${s}, not ${e}`;
  }
  return undefined;
}

function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

function names(tensors: readonly TensorMetadata[]): string {
  return tensors.length === 0 ? 'none' : tensors.map((t) => `\`${t.name}\` ${t.datatype} ${formatShape(t.shape)}`).join(', ');
}
