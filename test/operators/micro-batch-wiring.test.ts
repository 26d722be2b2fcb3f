/**
 * `micro-batch` in front of a real `infer` (onnx, the demo model), through `centaur run`: with
 * `dtype: auto` (the default) it packs the model's float32, and settings the model cannot take
 * (float16 for onnx, the wrong layout) stop the run at start with exit code 2 and a message that
 * names the fix, before any input is read, rather than sending every batch to the dead letter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import { generateImages } from '../../src/demo/generate-images.js';

const MODEL_DIR = path.resolve('models/demo');

/** Runs a topology whose micro-batch has `batchOptions` (YAML); the exit code, stderr and what was written. */
async function runWith(dir: string, name: string, batchOptions: string): Promise<{ code: number; err: string; outputs: string[] }> {
  const out = path.join(dir, `out-${name}`);
  const file = path.join(dir, `${name}.yaml`);
  await writeFile(
    file,
    `version: 1
name: ${name}
nodes:
  images: { kind: files-source, path: ${JSON.stringify(path.join(dir, 'images'))} }
  decode: { kind: decode-image, from: [images], size: [224, 224], fit: fill, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 4, maxDelayMs: 20${batchOptions} }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL_DIR)} } }
  out: { kind: files-sink, from: [infer], dir: ${JSON.stringify(out)} }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(out)} }
`,
  );
  const err: string[] = [];
  const code = await main(['run', file, '--no-http', '--log-level', 'silent'], { out: () => {}, err: (text) => err.push(text) });
  const outputs = await readdir(out).catch(() => []);
  return { code, err: err.join('\n'), outputs };
}

test('dtype auto runs the onnx model; float16 or NCHW for it stop the start with exit 2, nothing read', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-micro-batch-wiring-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await generateImages({ outDir: path.join(dir, 'images'), count: 6, seed: 77, width: 160, height: 120 });

  const auto = await runWith(dir, 'auto', '');
  assert.equal(auto.code, 0, auto.err);
  assert.ok(auto.outputs.some((n) => n.startsWith('out-')), 'predictions were written');

  const half = await runWith(dir, 'half', ', dtype: float16');
  assert.equal(half.code, 2, half.err);
  assert.match(half.err, /CONFIG_INVALID.*node `batch`: micro-batch packs float16, but node `infer` \(model horse-or-human 1 on onnxruntime-node[^)]*\)\) takes float32; set `dtype: auto`/s);
  assert.deepEqual(half.outputs, [], 'no input was read: no predictions and no dead letters');

  const nchw = await runWith(dir, 'nchw', ', layout: NCHW');
  assert.equal(nchw.code, 2, nchw.err);
  // Found by validation now (the model manifest says NHWC), before any node is created.
  assert.match(nchw.err, /node `batch`: packs NCHW, but model `horse-or-human` 1 \(node `infer`\) takes NHWC; set `layout: NHWC`/);
  assert.deepEqual(nchw.outputs, []);
});
