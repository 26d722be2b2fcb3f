/**
 * `infer` with `backend: { kind: kserve }` in a real topology run (files-source → decode-image →
 * micro-batch → infer → files-sink) against the KServe v2 server of `scripts/services/services.sh
 * up` — MLServer and NVIDIA Triton (through PyTriton) — over gRPC and over HTTP:
 *
 * - every image gets the prediction the in-process onnx backend gives (same label, probabilities
 *   and embedding within 1e-4);
 * - a manifest whose input differs from the served model stops the start with a config error
 *   (exit 2) naming both sides;
 * - a server that cannot be reached at start stops the run before any input is read (nothing to
 *   lose, nothing committed);
 * - a server lost during the run: each batch is retried, then its inputs become dead letters with
 *   INFERENCE_SERVER_UNAVAILABLE; every input is predicted or dead-lettered, none is lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { main } from '../../src/cli/main.js';
import { CentaurError } from '../../src/core/errors.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { RunSummary } from '../../src/runtime/run-summary.js';
import type { DeadLetterRecord, PredictionRecord } from '../../src/formats/prediction-record.js';
import { parseTopology } from '../../src/topology/load.js';
import { INFERENCE_SERVERS, KSERVE_GRPC, requireKserve } from '../helpers/kserve.js';

const IMAGES = 24;
const TOLERANCE = 1e-4;
const MODEL_DIR = path.resolve('models/demo');
const READY_LOG = 'Inference server ready; its model matches the manifest.';

interface Protocol {
  readonly name: 'grpc' | 'http';
  readonly endpoint: string;
  /** The same server reached through `port` on loopback. */
  readonly via: (port: number) => string;
}

/** Each server over each protocol. */
const PROTOCOLS = INFERENCE_SERVERS.flatMap((server) => [
  { server, protocol: { name: 'grpc', endpoint: server.grpc, via: (port: number) => `127.0.0.1:${port}` } satisfies Protocol },
  { server, protocol: { name: 'http', endpoint: server.url, via: (port: number) => `http://127.0.0.1:${port}` } satisfies Protocol },
]);

interface Outcome {
  readonly summary: RunSummary | undefined;
  readonly error: unknown;
  readonly predictions: PredictionRecord[];
  readonly deadLetters: DeadLetterRecord[];
}

interface Fixture {
  readonly root: string;
  readonly images: string;
  /** The onnx backend's record of each image, by file path. */
  readonly baseline: ReadonlyMap<string, PredictionRecord>;
}

let fixture: Promise<Fixture> | undefined;
let runs = 0;

/** Generates the images into a temporary folder and runs them once with the onnx backend. */
function setUp(): Promise<Fixture> {
  fixture ??= (async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'centaur-kserve-infer-'));
    const images = path.join(root, 'images');
    await generateImages({ outDir: images, count: IMAGES, seed: 8_812, width: 320, height: 240 });
    const onnx = await runTopology({ root, images }, '{ kind: onnx, intraOpNumThreads: 1 }');
    assert.equal(onnx.error, undefined, String(onnx.error));
    assert.equal(onnx.predictions.length, IMAGES);
    return { root, images, baseline: new Map(onnx.predictions.map((p) => [p.source.uri ?? p.id, p])) };
  })();
  return fixture;
}

test.after(async () => {
  if (fixture !== undefined) await rm((await fixture).root, { recursive: true, force: true });
});

/** Runs the test topology with `backend` (YAML) in process; returns its summary or error and what it wrote. */
async function runTopology(
  where: { root: string; images: string },
  backend: string,
  options: { modelDir?: string; onLog?: (line: Record<string, unknown>) => void; infer?: string } = {},
): Promise<Outcome> {
  runs += 1;
  const dir = path.join(where.root, `run-${runs}`);
  const out = path.join(dir, 'out');
  await mkdir(dir, { recursive: true });
  const yaml = `version: 1
name: kserve-infer-${runs}
nodes:
  images: { kind: files-source, path: ${JSON.stringify(where.images)}, labels: parent-folder, labelMap: { horses: horse, humans: human } }
  decode: { kind: decode-image, from: [images], size: [224, 224], fit: fill, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 20 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(options.modelDir ?? MODEL_DIR)} }, backend: ${backend}${options.infer ?? ''} }
  out: { kind: files-sink, from: [infer], dir: ${JSON.stringify(out)}, includeEmbedding: true }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(out)} }
`;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.length > 0) options.onLog?.(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const runtime = new Runtime(parseTopology(yaml, path.join(dir, 'topology.yaml'), { env: {} }), { logger: pino({ level: 'info' }, stream) });
  let summary: RunSummary | undefined;
  let error: unknown;
  try {
    summary = await runtime.run();
  } catch (caught) {
    error = caught;
  }
  return { summary, error, predictions: await jsonLines<PredictionRecord>(out, 'out-'), deadLetters: await jsonLines<DeadLetterRecord>(out, 'dead-letters-') };
}

/** Every JSON line of the files in `dir` whose names start with `prefix` (none when the folder is missing). */
async function jsonLines<T>(dir: string, prefix: string): Promise<T[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.startsWith(prefix)).sort();
  } catch {
    return [];
  }
  const lines: T[] = [];
  for (const name of names) {
    for (const line of (await readFile(path.join(dir, name), 'utf8')).split('\n')) if (line.length > 0) lines.push(JSON.parse(line) as T);
  }
  return lines;
}

/** A loopback TCP relay to `target` (`host:port`) that `cut()` closes at once: the server seems to vanish. */
async function relay(target: string): Promise<{ port: number; cut: () => void; close: () => Promise<void> }> {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, host);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => s.destroy());
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const cut = (): void => {
    server.close();
    for (const s of sockets) s.destroy();
  };
  return {
    port: (server.address() as AddressInfo).port,
    cut,
    close: async () => {
      cut();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function hostPort(endpoint: string): string {
  return endpoint.replace(/^https?:\/\//, '').replace(/\/.*$/, '');
}

function maxDifference(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return a.reduce((max, v, i) => Math.max(max, Math.abs(v - (b[i] as number))), 0);
}

for (const { server, protocol } of PROTOCOLS) {
  const backend = (endpoint: string, extra = ''): string => `{ kind: kserve, protocol: ${protocol.name}, endpoint: ${JSON.stringify(endpoint)}${extra} }`;

  test(`${server.name} ${protocol.name}: every image gets the onnx backend's prediction (label; probabilities and embedding within 1e-4)`, async (t) => {
    if (!(await server.require(t))) return;
    const setup = await setUp();
    const run = await runTopology(setup, backend(protocol.endpoint));
    assert.equal(run.error, undefined, String(run.error));
    assert.equal(run.summary?.inputs, IMAGES);
    assert.equal(run.summary?.predictions, IMAGES);
    assert.equal(run.deadLetters.length, 0);
    assert.equal(run.predictions.length, IMAGES);
    for (const record of run.predictions) {
      const expected = setup.baseline.get(record.source.uri ?? record.id);
      assert.ok(expected, `no onnx record for ${record.source.uri}`);
      assert.ok(record.prediction && expected.prediction);
      assert.equal(record.prediction.label, expected.prediction.label, record.source.uri);
      assert.equal(record.prediction.classIndex, expected.prediction.classIndex);
      assert.deepEqual(Object.keys(record.prediction.probabilities), ['horse', 'human']);
      const p = maxDifference(Object.values(record.prediction.probabilities), Object.values(expected.prediction.probabilities));
      assert.ok(p <= TOLERANCE, `${record.source.uri}: probabilities differ by ${p}`);
      const e = maxDifference(record.embedding ?? [], expected.embedding ?? []);
      assert.equal(record.embedding?.length, 1280);
      assert.ok(e <= TOLERANCE, `${record.source.uri}: embeddings differ by ${e}`);
      assert.deepEqual(record.model, { name: 'horse-or-human', version: '1' });
    }
  });

  test(`${server.name} ${protocol.name}: a manifest whose input differs from the served model stops the start with a config error naming both sides (exit 2)`, async (t) => {
    if (!(await server.require(t))) return;
    const setup = await setUp();
    const modelDir = path.join(setup.root, `small-manifest-${server.name}-${protocol.name}`);
    await mkdir(modelDir, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(MODEL_DIR, 'manifest.json'), 'utf8')) as Record<string, unknown> & { input: Record<string, unknown> };
    manifest.input = { ...manifest.input, width: 112, height: 112 };
    manifest.file = path.join(MODEL_DIR, 'model.onnx');
    await writeFile(path.join(modelDir, 'manifest.json'), JSON.stringify(manifest, null, 2));

    const run = await runTopology(setup, backend(protocol.endpoint), { modelDir });
    assert.ok(run.error instanceof CentaurError, String(run.error));
    assert.equal(run.error.code, 'MODEL_METADATA_MISMATCH');
    assert.equal(run.error.category, 'config');
    const where = protocol.name === 'grpc' ? `${protocol.endpoint} (grpc)` : `${protocol.endpoint} (http)`;
    const manifestFile = path.join(modelDir, 'manifest.json');
    if (server.name === 'Triton') {
      // Triton offers its model configuration, which is checked first and says more.
      assert.ok(run.error.message.startsWith(`node \`infer\`: the configuration of model \`horse-or-human\` on ${where} (max_batch_size 64) does not match the manifest ${manifestFile}`), run.error.message);
      assert.match(run.error.message, /input `input`: the configuration says dims \[224, 224, 3\] \(after the batch dimension\), the manifest says NHWC \[112, 112, 3\]/);
    } else {
      assert.ok(run.error.message.startsWith(`node \`infer\`: model \`horse-or-human\` on ${where} does not match the manifest ${manifestFile}`), run.error.message);
      assert.match(run.error.message, /input `input`: the server says shape \[-1, 224, 224, 3\], the manifest says \[-1, 112, 112, 3\]/);
    }
    assert.equal(run.predictions.length + run.deadLetters.length, 0, 'nothing was read');

    // The same through the command: exit 2 (a config error), the message on stderr.
    const topologyFile = path.join(setup.root, `mismatch-${server.name}-${protocol.name}.yaml`);
    await writeFile(
      topologyFile,
      `version: 1
name: mismatch-${server.name.toLowerCase()}-${protocol.name}
nodes:
  images: { kind: files-source, path: ${JSON.stringify(setup.images)} }
  decode: { kind: decode-image, from: [images], size: [112, 112] }
  infer: { kind: infer, from: [decode], model: { path: ${JSON.stringify(modelDir)} }, backend: ${backend(protocol.endpoint)} }
  out: { kind: files-sink, from: [infer], dir: ${JSON.stringify(path.join(setup.root, `mismatch-out-${server.name}-${protocol.name}`))} }
`,
    );
    const err: string[] = [];
    const code = await main(['run', topologyFile, '--no-http', '--log-level', 'silent'], { out: () => {}, err: (text) => err.push(text) });
    assert.equal(code, 2, err.join('\n'));
    assert.match(err.join('\n'), /MODEL_METADATA_MISMATCH.*does not match the manifest/s);
  });

  test(`${server.name} ${protocol.name}: a server that cannot be reached at start stops the run before any input is read`, async (t) => {
    if (!(await server.require(t))) return;
    const setup = await setUp();
    const endpoint = protocol.via(await closedPort());
    const started = Date.now();
    const run = await runTopology(setup, backend(endpoint, ', retries: 2, timeoutMs: 2000'));
    assert.ok(run.error instanceof CentaurError, String(run.error));
    assert.equal(run.error.code, 'INFERENCE_SERVER_UNAVAILABLE');
    assert.equal(run.error.retriable, true);
    assert.match(run.error.message, new RegExp(`^node \`infer\`: KServe server ${endpoint.replace(/[.:/]/g, '\\$&')} \\(${protocol.name}\\): cannot be reached \\(after 3 attempts`));
    assert.match(run.error.message, /ECONNREFUSED/, 'the cause is named');
    assert.ok(Date.now() - started < 20_000, 'fails promptly');
    assert.equal(run.summary, undefined);
    assert.equal(run.predictions.length + run.deadLetters.length, 0, 'no input was read, so none is committed or lost');
  });

  test(`${server.name} ${protocol.name}: a server lost during the run: batches are retried, then dead-lettered with INFERENCE_SERVER_UNAVAILABLE; none is lost`, async (t) => {
    if (!(await server.require(t))) return;
    const setup = await setUp();
    const proxy = await relay(hostPort(protocol.endpoint));
    const retries: unknown[] = [];
    try {
      const run = await runTopology(setup, backend(protocol.via(proxy.port), ', retries: 1, timeoutMs: 2000'), {
        // No retry window: the server is gone for good, so the batches give up after the least retries.
        infer: ', retryWindowMs: 0',
        onLog: (line) => {
          // Start-up went through the relay; the server vanishes before the first batch.
          if (line.msg === READY_LOG) proxy.cut();
          if (line.msg === 'Inference request failed; retrying.') retries.push(line.code);
        },
      });
      assert.equal(run.error, undefined, String(run.error));
      assert.equal(run.summary?.inputs, IMAGES);
      assert.equal(run.predictions.length, 0);
      assert.equal(run.deadLetters.length, IMAGES, 'every input is a dead letter');
      assert.equal(new Set(run.deadLetters.map((d) => d.source.uri)).size, IMAGES);
      for (const letter of run.deadLetters) {
        assert.equal(letter.node, 'infer');
        assert.equal(letter.error.code, 'INFERENCE_SERVER_UNAVAILABLE', letter.error.message);
        assert.equal(letter.error.retriable, true);
        assert.match(letter.error.message, new RegExp(`127\\.0\\.0\\.1:${proxy.port}`));
      }
      assert.ok(run.deadLetters.some((d) => /gave up after 2 attempts/.test(d.error.message)), 'the client retried before giving up');
      assert.ok(retries.length > 0 && retries.every((c) => c === 'INFERENCE_SERVER_UNAVAILABLE'), 'retries are logged');
      assert.equal(run.summary?.deadLetters, IMAGES);
      assert.equal(run.summary?.unfinished, 0, 'every input settled: none is left behind');
    } finally {
      await proxy.close();
    }
  });
}

test('grpc: raw pixels as UINT8 (a quarter of the bytes) give the same predictions; the server scales them', async (t) => {
  if (!(await requireKserve(t))) return;
  const setup = await setUp();
  const run = await runTopology(setup, `{ kind: kserve, endpoint: ${JSON.stringify(KSERVE_GRPC)}, inputDatatype: UINT8 }`);
  assert.equal(run.error, undefined, String(run.error));
  assert.equal(run.predictions.length, IMAGES);
  for (const record of run.predictions) {
    const expected = setup.baseline.get(record.source.uri ?? record.id);
    assert.equal(record.prediction?.label, expected?.prediction?.label);
    const p = maxDifference(Object.values(record.prediction?.probabilities ?? {}), Object.values(expected?.prediction?.probabilities ?? {}));
    assert.ok(p <= TOLERANCE, `${record.source.uri}: probabilities differ by ${p}`);
  }
});
