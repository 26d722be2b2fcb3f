/**
 * Half-precision batches against the KServe v2 server of `scripts/services/services.sh up kserve`:
 * a real topology (files-source → decode-image → micro-batch → infer → files-sink) whose
 * `micro-batch` packs float16 (`dtype: float16`) gives the predictions of the float32 path within
 * 1e-3, over gRPC and HTTP; packing in the batcher gives what the client's own conversion of a
 * float32 batch gives; a float16 batch for a server input of FP32 is widened and gives the same;
 * the backend says at start that FP16 batches go as they are; and `dtype: auto` (the default)
 * packs float16 exactly when the backend sends FP16.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { PredictionRecord } from '../../src/formats/prediction-record.js';
import { parseTopology } from '../../src/topology/load.js';
import { KSERVE_GRPC, KSERVE_URL, requireKserve } from '../helpers/kserve.js';

const IMAGES = 16;
const MODEL_DIR = path.resolve('models/demo');
const FP16_LOG = /^Pixels travel as FP16: batches packed as float16/;

interface Run {
  readonly predictions: ReadonlyMap<string, PredictionRecord>;
  readonly logs: readonly string[];
}

let root: Promise<{ dir: string; images: string }> | undefined;
let runs = 0;

function setUp(): Promise<{ dir: string; images: string }> {
  root ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-kserve-fp16-'));
    const images = path.join(dir, 'images');
    await generateImages({ outDir: images, count: IMAGES, seed: 4_242, width: 256, height: 192 });
    return { dir, images };
  })();
  return root;
}

test.after(async () => {
  if (root !== undefined) await rm((await root).dir, { recursive: true, force: true });
});

/** Runs the topology with micro-batch `dtype` and the `backend` (YAML); every image must be predicted. */
async function run(dtype: 'auto' | 'float32' | 'float16', backend: string): Promise<Run> {
  const { dir, images } = await setUp();
  runs += 1;
  const out = path.join(dir, `out-${runs}`);
  await mkdir(out, { recursive: true });
  const yaml = `version: 1
name: kserve-fp16-${runs}
nodes:
  images: { kind: files-source, path: ${JSON.stringify(images)} }
  decode: { kind: decode-image, from: [images], size: [224, 224], fit: fill, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 20, dtype: ${dtype} }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL_DIR)} }, backend: ${backend} }
  out: { kind: files-sink, from: [infer], dir: ${JSON.stringify(out)}, includeEmbedding: true }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(out)} }
`;
  const logs: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.length > 0) logs.push(String((JSON.parse(line) as { msg?: unknown }).msg));
      callback();
    },
  });
  const runtime = new Runtime(parseTopology(yaml, path.join(dir, `topology-${runs}.yaml`), { env: {} }), { logger: pino({ level: 'info' }, stream) });
  const summary = await runtime.run();
  assert.equal(summary.deadLetters, 0, `dead letters in ${out}`);
  const records: PredictionRecord[] = [];
  for (const name of (await readdir(out)).filter((n) => n.startsWith('out-')).sort()) {
    for (const line of (await readFile(path.join(out, name), 'utf8')).split('\n')) if (line.length > 0) records.push(JSON.parse(line) as PredictionRecord);
  }
  assert.equal(records.length, IMAGES);
  return { predictions: new Map(records.map((r) => [r.source.uri ?? r.id, r])), logs };
}

/** Largest difference between two runs' probabilities (and embeddings), labels equal. */
function compare(a: Run, b: Run, tolerance: number, what: string): void {
  for (const [uri, record] of a.predictions) {
    const other = b.predictions.get(uri);
    assert.ok(other?.prediction && record.prediction, `${what}: ${uri} missing`);
    assert.equal(other.prediction.label, record.prediction.label, `${what}: ${uri}`);
    const p = maxDifference(Object.values(record.prediction.probabilities), Object.values(other.prediction.probabilities));
    assert.ok(p <= tolerance, `${what}: ${uri}: probabilities differ by ${p}`);
    assert.equal(other.embedding?.length, 1280);
    const e = maxDifference(record.embedding ?? [], other.embedding ?? []);
    assert.ok(e <= tolerance * 10, `${what}: ${uri}: embeddings differ by ${e}`);
  }
}

function maxDifference(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((max, v, i) => Math.max(max, Math.abs(v - (b[i] as number))), 0);
}

test('micro-batch dtype float16 gives the float32 path’s predictions within 1e-3 over gRPC and HTTP, as the client’s conversion does', async (t) => {
  if (!(await requireKserve(t))) return;
  const grpc = (extra = ''): string => `{ kind: kserve, endpoint: ${JSON.stringify(KSERVE_GRPC)}${extra} }`;
  const fp32 = await run('float32', grpc());
  assert.ok(!fp32.logs.some((l) => FP16_LOG.test(l)), 'no FP16 note for an FP32 input');

  const packedGrpc = await run('float16', grpc(', inputDatatype: FP16'));
  assert.ok(packedGrpc.logs.some((l) => FP16_LOG.test(l)), 'the backend says FP16 batches go as they are');
  compare(fp32, packedGrpc, 1e-3, 'float16 packed, gRPC');

  const packedHttp = await run('float16', `{ kind: kserve, protocol: http, endpoint: ${JSON.stringify(KSERVE_URL)}, inputDatatype: FP16 }`);
  compare(fp32, packedHttp, 1e-3, 'float16 packed, HTTP');

  // The same half-precision values, whoever rounds them: the client converting a float32 batch,
  // or (server input FP32) the backend widening a float16 batch back.
  const clientConverted = await run('float32', grpc(', inputDatatype: FP16'));
  compare(packedGrpc, clientConverted, 1e-5, 'packed vs converted by the client');
  const widened = await run('float16', grpc());
  compare(packedGrpc, widened, 1e-5, 'packed FP16 vs widened to FP32');

  // dtype auto (the default): micro-batch packs what infer asks for once its backend has met the server.
  const autoHalf = await run('auto', grpc(', inputDatatype: FP16'));
  assert.ok(autoHalf.logs.includes('Batches are packed as float16 (dtype: auto).'), 'auto packs float16 for an FP16 request');
  compare(packedGrpc, autoHalf, 1e-5, 'auto vs float16 set by hand');
  const autoFloat = await run('auto', grpc());
  assert.ok(autoFloat.logs.includes('Batches are packed as float32 (dtype: auto).'), 'auto packs float32 for an FP32 input');
  compare(fp32, autoFloat, 1e-5, 'auto vs float32 set by hand');
});
