/**
 * What the topology alone can tell about its models: an `infer` node's local model manifest says
 * the input it takes, so the `decode-image` and `micro-batch` nodes feeding it are checked against
 * it in the validation pass (before, a mismatch dead-lettered every input at run time).
 */
import path from 'node:path';
import { loadManifest } from '../inference/manifest.js';
import type { Manifest } from '../inference/manifest.js';
import type { TopologyNode } from './topology.js';

/** A problem found against a model manifest, at a path of the topology. */
export interface ModelProblem {
  readonly path: readonly (string | number)[];
  readonly node: string;
  readonly message: string;
  readonly suggestion?: string;
  /** Runs, but not as trained (fit, kernel, decoder): a warning rather than a refusal. */
  readonly warning?: true;
}

/** Checks every `infer` node with a local `model.path` against the nodes that feed it. */
export async function modelProblems(nodes: ReadonlyMap<string, TopologyNode>, invalid: ReadonlySet<string>, baseDir: string): Promise<ModelProblem[]> {
  const problems: ModelProblem[] = [];
  for (const node of nodes.values()) {
    if (node.kind !== 'infer' || invalid.has(node.id)) continue;
    const model = node.options.model as { path?: string } | undefined;
    if (typeof model?.path !== 'string') continue;
    let manifest: Manifest;
    try {
      // The hash of the model file is checked when the model loads; validation reads only the manifest.
      manifest = (await loadManifest(path.resolve(baseDir, model.path), { verifyHash: false })).manifest;
    } catch (error) {
      problems.push({ path: ['nodes', node.id, 'model', 'path'], node: node.id, message: (error as Error).message, suggestion: 'point `model.path` at a model folder with a manifest.json' });
      continue;
    }
    const who = `model \`${manifest.name}\` ${manifest.version} (node \`${node.id}\`)`;
    for (const feeder of feeders(nodes, node.id, invalid)) problems.push(...feederProblems(feeder, manifest, who));
  }
  return problems;
}

/** The decode-image and micro-batch nodes upstream of `id`, stopping at each decode-image. */
function feeders(nodes: ReadonlyMap<string, TopologyNode>, id: string, invalid: ReadonlySet<string>): TopologyNode[] {
  const found: TopologyNode[] = [];
  const seen = new Set<string>();
  const queue = [...(nodes.get(id)?.from ?? [])];
  while (queue.length > 0) {
    const next = queue.shift() as string;
    if (seen.has(next)) continue;
    seen.add(next);
    const node = nodes.get(next);
    if (node === undefined || invalid.has(next) || node.spec.role === 'source') continue;
    if (node.kind === 'decode-image' || node.kind === 'micro-batch') found.push(node);
    if (node.kind !== 'decode-image') queue.push(...node.from);
  }
  return found;
}

function feederProblems(node: TopologyNode, manifest: Manifest, who: string): ModelProblem[] {
  const input = manifest.input;
  const o = node.options;
  const problems: ModelProblem[] = [];
  if (node.kind === 'decode-image') {
    const [width, height] = o.size as [number, number];
    const fit = o.fit as string;
    if (fit !== 'inside' && fit !== 'outside' && (width !== input.width || height !== input.height)) {
      problems.push({ path: ['nodes', node.id, 'size'], node: node.id, message: `makes ${width}×${height} images, but ${who} takes ${input.width}×${input.height}`, suggestion: `set \`size: [${input.width}, ${input.height}]\`` });
    }
    if (input.dtype !== 'uint8' && o.scale !== input.scale) {
      problems.push({ path: ['nodes', node.id, 'scale'], node: node.id, message: `scales pixels \`${String(o.scale)}\`, but ${who} was trained on \`${input.scale}\``, suggestion: `set \`scale: ${input.scale}\`` });
    }
    // What changes the pixels without breaking the run: the model sees images unlike its training ones.
    const trained = { fit: input.fit, kernel: input.kernel, decoder: input.decoder ?? 'sharp' };
    for (const key of ['fit', 'kernel', 'decoder'] as const) {
      if (o[key] === trained[key]) continue;
      problems.push({
        path: ['nodes', node.id, key],
        node: node.id,
        message: `${key} \`${String(o[key])}\` differs from the \`${trained[key]}\` ${who} was trained with: it sees slightly different pixels`,
        suggestion: `set \`${key}: ${trained[key]}\``,
        warning: true,
      });
    }
  } else if (o.layout !== input.layout) {
    problems.push({ path: ['nodes', node.id, 'layout'], node: node.id, message: `packs ${String(o.layout)}, but ${who} takes ${input.layout}`, suggestion: `set \`layout: ${input.layout}\`` });
  }
  return problems;
}
