/**
 * The demo topology end to end with the real components and the real demo model: freshly
 * generated images (a seed never used in training) plus corrupt files, through files-source →
 * decode-image → micro-batch → infer (onnx) → files-sink, with dead letters.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateImages } from '../../src/demo/generate-images.js';
import { createLogger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';

const MODEL = path.resolve('models/demo');
const HOLDOUT_SEED = 9_000_001;

async function workspace(count: number): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-e2e-'));
  await generateImages({ outDir: path.join(dir, 'images'), count, seed: HOLDOUT_SEED, width: 320, height: 240, quality: 85 });
  return dir;
}

function topologyYaml(options: { watch?: boolean; checkpoint?: boolean; includeEmbedding?: boolean } = {}): string {
  return `version: 1
name: e2e
nodes:
  images:
    kind: files-source
    path: images
    labels: parent-folder
    labelMap: { horses: horse, humans: human }
    watch: ${options.watch === true}
    pollIntervalMs: 50
${options.checkpoint === true ? '    checkpoint: state/images.checkpoint\n' : ''}  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  out: { kind: files-sink, from: [infer], dir: out, includeEmbedding: ${options.includeEmbedding === true} }
  dlq: { kind: dead-letter, dir: out }
`;
}

async function readJsonl(dir: string, prefix: string): Promise<Record<string, unknown>[]> {
  const names = (await readdir(dir)).filter((n) => n.startsWith(`${prefix}-`) && n.endsWith('.jsonl')).sort();
  const text = (await Promise.all(names.map((n) => readFile(path.join(dir, n), 'utf8')))).join('');
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('the demo model classifies a fresh generated holdout above 95%, and bad files become dead letters', async () => {
  const dir = await workspace(120);
  await writeFile(path.join(dir, 'images', 'horses', 'corrupt.jpg'), Buffer.from('this is not a jpeg'));
  const good = await readFile(path.join(dir, 'images', 'humans', (await readdir(path.join(dir, 'images', 'humans')))[0] as string));
  await writeFile(path.join(dir, 'images', 'humans', 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 3)));
  await writeFile(path.join(dir, 'e2e.yaml'), topologyYaml({ includeEmbedding: true }));

  const summary = await new Runtime(await loadTopologyFile(path.join(dir, 'e2e.yaml')), { logger: createLogger('silent') }).run();
  assert.equal(summary.inputs, 122);
  assert.equal(summary.predictions, 120);
  assert.equal(summary.deadLetters, 2);
  assert.equal(summary.unfinished, 0);
  assert.ok(summary.accuracy !== undefined);
  assert.ok(summary.accuracy.ratio > 0.95, `accuracy ${summary.accuracy.ratio}`);
  // Per class, from the folder labels: both classes seen, each recall and precision high.
  assert.deepEqual(Object.keys(summary.accuracy.perClass ?? {}), ['horse', 'human']);
  for (const c of Object.values(summary.accuracy.perClass ?? {})) assert.ok((c.precision ?? 0) > 0.9 && (c.recall ?? 0) > 0.9 && c.labelled > 50, JSON.stringify(c));

  const records = await readJsonl(path.join(dir, 'out'), 'out');
  assert.equal(records.length, 120);
  const first = records[0] as { prediction: { label: string; probabilities: Record<string, number> }; embedding: number[]; model: { name: string } };
  assert.deepEqual(Object.keys(first.prediction.probabilities), ['horse', 'human']);
  assert.ok(Math.abs(Object.values(first.prediction.probabilities).reduce((x, y) => x + y, 0) - 1) < 1e-4);
  assert.equal(first.embedding.length, 1280);
  assert.equal(first.model.name, 'horse-or-human');

  const letters = await readJsonl(path.join(dir, 'out'), 'dead-letters');
  assert.deepEqual(letters.map((l) => (l as { id: string }).id).sort(), ['horses/corrupt.jpg', 'humans/truncated.jpg']);
  // Text named .jpg is refused by its bytes before sharp sees it; a truncated JPEG fails to decode.
  const expectedCodes: Record<string, string> = { 'horses/corrupt.jpg': 'IMAGE_FORMAT_REFUSED', 'humans/truncated.jpg': 'IMAGE_DECODE_FAILED' };
  for (const letter of letters as { id: string; node: string; error: { code: string }; payload: { uri: string } }[]) {
    assert.equal(letter.node, 'decode');
    assert.equal(letter.error.code, expectedCodes[letter.id]);
    assert.match(letter.payload.uri, /^file:\/\//);
  }
});

test('a restarted run with a checkpoint does not repeat finished files', async () => {
  const dir = await workspace(20);
  await writeFile(path.join(dir, 'e2e.yaml'), topologyYaml({ checkpoint: true }));
  const run = async (): Promise<number> => (await new Runtime(await loadTopologyFile(path.join(dir, 'e2e.yaml')), { logger: createLogger('silent') }).run()).inputs;
  assert.equal(await run(), 20);
  assert.equal(await run(), 0);
  await generateImages({ outDir: path.join(dir, 'images', 'more'), count: 4, seed: HOLDOUT_SEED + 1 });
  assert.equal(await run(), 4);
});

test('centaur run drains on SIGINT: in-flight inputs finish, the summary prints, exit 0', async () => {
  const dir = await workspace(40);
  await writeFile(path.join(dir, 'e2e.yaml'), topologyYaml({ watch: true }));
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('src/cli/centaur.ts'), 'run', path.join(dir, 'e2e.yaml'), '--json', '--http', '127.0.0.1:0'], {
    cwd: path.resolve('.'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  // Wait until every image has been written, then interrupt the watching run.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const records = await readJsonl(path.join(dir, 'out'), 'out').catch(() => []);
    if (records.length >= 40 || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 0, stderr);
  assert.match(stderr, /SIGINT received; draining/);
  const summary = JSON.parse(stdout.trim().split('\n').at(-1) as string) as { inputs: number; predictions: number; unfinished: number };
  assert.equal(summary.inputs, 40);
  assert.equal(summary.predictions, 40);
  assert.equal(summary.unfinished, 0);
});
