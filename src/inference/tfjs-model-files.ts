/**
 * Reads a TF.js model from disk: `model.json` and the weight shards its `weightsManifest` lists,
 * as an in-memory IOHandler. The bundled TF.js packages have no `file://` loader in Node (only
 * tfjs-node has one), so every engine loads through this reader. Shard paths must stay inside the
 * model's folder.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type * as TfCore from '@tensorflow/tfjs-core';

type Io = typeof TfCore.io;
type ModelJson = TfCore.io.ModelJSON;

/** A model read from disk, ready for `loadGraphModel` / `loadLayersModel`. */
export interface TfjsModelFiles {
  /** `graph` for a graph model (a TensorFlow GraphDef), `layers` for a Keras layers model. */
  readonly kind: 'graph' | 'layers';
  /** Loads the artifacts (already in memory). */
  readonly handler: TfCore.io.IOHandler;
  /** Bytes of weights read from the shards. */
  readonly weightBytes: number;
  /** Shard files read, relative to the model folder. */
  readonly shards: readonly string[];
}

/** Reads `modelJsonPath` and its shards; throws a plain Error naming the file and the problem. */
export async function readTfjsModel(modelJsonPath: string, io: Io): Promise<TfjsModelFiles> {
  const dir = path.dirname(modelJsonPath);
  let json: ModelJson;
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8')) as ModelJson;
  } catch (error) {
    throw new Error(`${modelJsonPath} is not a readable TF.js model.json (${messageOf(error)})`);
  }
  if (typeof json !== 'object' || json === null || typeof json.modelTopology !== 'object' || json.modelTopology === null) {
    throw new Error(`${modelJsonPath} has no modelTopology; is it a TF.js model.json?`);
  }
  const kind = modelKind(json);
  const shards: string[] = [];
  let weightBytes = 0;
  const artifacts = await io.getModelArtifactsForJSON(json, async (manifest) => {
    const specs: TfCore.io.WeightsManifestEntry[] = [];
    const buffers: Buffer[] = [];
    for (const group of manifest) {
      specs.push(...group.weights);
      for (const shard of group.paths) {
        const file = path.resolve(dir, shard);
        const relative = path.relative(dir, file);
        if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative) || path.isAbsolute(shard)) {
          throw new Error(`weight shard \`${shard}\` is outside the model folder ${dir}`);
        }
        try {
          buffers.push(await readFile(file));
        } catch (error) {
          throw new Error(`cannot read weight shard ${file} (${messageOf(error)})`);
        }
        shards.push(shard);
      }
    }
    const all = Buffer.concat(buffers);
    weightBytes = all.length;
    // A copy that starts at offset 0: TF.js decodes weights from a whole ArrayBuffer.
    const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.length);
    return [specs, data];
  });
  return { kind, handler: { load: async () => artifacts }, weightBytes, shards };
}

/** `graph` or `layers`, from the `format` field, or from the topology's shape when the field is absent. */
function modelKind(json: ModelJson): 'graph' | 'layers' {
  if (json.format === 'graph-model') return 'graph';
  if (json.format === 'layers-model') return 'layers';
  const topology = json.modelTopology as Record<string, unknown>;
  if (Array.isArray(topology.node)) return 'graph';
  if ('class_name' in topology || 'model_config' in topology) return 'layers';
  throw new Error(`cannot tell a graph model from a layers model (format \`${String(json.format)}\`)`);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
