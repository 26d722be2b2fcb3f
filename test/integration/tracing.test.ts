/**
 * OpenTelemetry tracing against the real broker: camera frames carrying a producer's W3C
 * `traceparent` go through kafka-source → decode → micro-batch → infer → kafka-sink with tracing on
 * and an OTLP/HTTP endpoint. The outputs are read back with an independent consumer (kafkajs used
 * directly) and the spans from what the OTLP exporter sent (a receiver in this test that keeps the
 * requests' JSON bodies). With tracing off, the input's trace context passes through unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { BROKERS, consumeUntil, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';
import type { OutMessage } from '../helpers/kafka.js';

const MODEL = path.resolve('models/demo');

/** An OTLP/JSON span as the exporter sends it (the fields read here). */
interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly links?: readonly { readonly traceId: string; readonly spanId: string }[];
  readonly status?: { readonly code?: number };
  readonly events?: readonly { readonly name: string }[];
}

/** Receives OTLP/HTTP JSON export requests; keeps every span and the resources' service names. */
async function otlpReceiver(): Promise<{ url: string; spans: OtlpSpan[]; services: Set<string>; requests: () => number; close: () => Promise<void> }> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  let requests = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests += 1;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { resource: { attributes: { key: string; value: { stringValue?: string } }[] }; scopeSpans: { spans: OtlpSpan[] }[] }[];
      };
      for (const rs of body.resourceSpans) {
        for (const a of rs.resource.attributes) if (a.key === 'service.name' && a.value.stringValue !== undefined) services.add(a.value.stringValue);
        for (const ss of rs.scopeSpans) spans.push(...ss.spans);
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1/traces`, spans, services, requests: () => requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** JPEG frames of the demo's generator. */
async function frames(count: number): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-tracing-'));
  await generateImages({ outDir: dir, count, seed: 4_242, width: 160, height: 120, quality: 85 });
  const files: string[] = [];
  for (const folder of ['horses', 'humans']) for (const name of (await readdir(path.join(dir, folder))).sort()) files.push(path.join(dir, folder, name));
  return Promise.all(files.map((f) => readFile(f)));
}

const traceparent = (traceId: string, spanId: string): string => `00-${traceId}-${spanId}-01`;
const parse = (header: string | undefined): { traceId: string; spanId: string } => {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-0[01]$/.exec(header ?? '');
  assert.ok(m, `a W3C traceparent: ${String(header)}`);
  return { traceId: m[1] as string, spanId: m[2] as string };
};

function topologyYaml(input: string, output: string, dlq: string, tracing: string): string {
  return `version: 1
name: ${unique('tracing')}
${tracing}
nodes:
  in: { kind: kafka-source, brokers: [${BROKERS}], topics: [${input}], groupId: ${unique('tracing')}, value: { format: bytes } }
  decode: { kind: decode-image, from: [in], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 200 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  out: { kind: kafka-sink, from: [infer], brokers: [${BROKERS}], topic: ${output}, value: { format: json } }
  dlq: { kind: dead-letter, dir: ${JSON.stringify(dlq)} }
`;
}

test('tracing: each input continues its producer’s trace through decode, batch, infer and the sink; outputs carry the sink span; the batch span links its inputs; a dead letter marks its span', async (t) => {
  if (!(await requireServices(t))) return;
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const input = unique('traced-in');
  const output = unique('traced-out');
  await createTopics([input, output], 1);
  const images = await frames(6);
  // Six frames from a traced producer, two without trace context, one that is not an image (traced).
  const producer = images.map(() => ({ traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') }));
  const messages: OutMessage[] = images.map((image, i) => ({ key: `cam-${i}`, value: image, headers: { id: `traced-${i}`, traceparent: traceparent(producer[i]?.traceId ?? '', producer[i]?.spanId ?? ''), tracestate: 'vendor=abc' } }));
  messages.push({ key: 'cam-x', value: images[0] ?? null, headers: { id: 'untraced-0' } }, { key: 'cam-y', value: images[1] ?? null, headers: { id: 'untraced-1' } });
  const poison = { traceId: randomBytes(16).toString('hex'), spanId: randomBytes(8).toString('hex') };
  messages.push({ key: 'cam-z', value: Buffer.from('not an image'), headers: { id: 'poison', traceparent: traceparent(poison.traceId, poison.spanId) } });
  await produce(input, messages);

  const dlq = await mkdtemp(path.join(tmpdir(), 'centaur-tracing-dlq-'));
  const yaml = topologyYaml(input, output, dlq, `tracing: { enabled: true, serviceName: centaur-traced, otlp: { endpoint: ${JSON.stringify(receiver.url)} } }`);
  const runtime = new Runtime(parseTopology(yaml, 'traced.yaml'), { logger: pino({ level: 'silent' }) });
  const done = runtime.run();
  const out = await consumeUntil(output, (m) => m.length >= 8);
  runtime.stop();
  await done;
  assert.equal(out.length, 8);
  assert.deepEqual(receiver.services, new Set(['centaur-traced']));

  const byId = new Map(receiver.spans.map((s) => [s.spanId, s]));
  const processSpans = receiver.spans.filter((s) => s.name === `process ${input}`);
  assert.equal(processSpans.length, 9, 'one process span per input, the dead letter included');
  for (const m of out) {
    const id = (JSON.parse(m.value?.toString('utf8') ?? '{}') as { id: string }).id;
    const context = parse(m.headers.traceparent);
    const send = byId.get(context.spanId);
    assert.ok(send, `${id}: the output's parent span was exported`);
    assert.equal(send.name, 'kafka-sink out');
    assert.equal(send.kind, 4, 'a PRODUCER span');
    const processSpan = byId.get(send.parentSpanId ?? '');
    assert.ok(processSpan !== undefined && processSpan.name.startsWith('process '), `${id}: the sink span is a child of the input's process span`);
    assert.equal(processSpan.kind, 5, 'a CONSUMER span');
    const i = Number(/^traced-(\d)$/.exec(id)?.[1] ?? Number.NaN);
    if (Number.isInteger(i)) {
      assert.equal(context.traceId, producer[i]?.traceId, `${id}: the output continues the producer's trace`);
      assert.equal(processSpan.parentSpanId, producer[i]?.spanId, `${id}: the process span's parent is the producer's span`);
      assert.equal(m.headers.tracestate, 'vendor=abc', 'tracestate travels on');
    } else {
      assert.ok(!producer.some((p) => p.traceId === context.traceId), `${id}: an input without trace context starts a trace`);
      assert.equal(processSpan.parentSpanId ?? '', '', `${id}: its process span is a root`);
    }
    const children = receiver.spans.filter((s) => s.parentSpanId === processSpan.spanId).map((s) => s.name).sort();
    assert.deepEqual(children, ['decode-image decode', 'kafka-sink out', 'micro-batch batch'], `${id}: a span per stage (inference: the batch span below)`);
  }
  // Each inference batch is one span, linked to the process spans of the inputs in it.
  const inferSpans = receiver.spans.filter((s) => s.name === 'infer infer');
  assert.ok(inferSpans.length >= 1);
  const linked = new Set(inferSpans.flatMap((s) => (s.links ?? []).map((l) => l.spanId)));
  for (const p of processSpans) if (p.parentSpanId !== poison.spanId) assert.ok(linked.has(p.spanId), 'every predicted input is linked from its batch span');
  assert.equal(inferSpans.reduce((n, s) => n + (s.links ?? []).length, 0), 8);
  // The frame that is not an image: its span carries the dead letter.
  const poisonSpan = processSpans.find((s) => s.parentSpanId === poison.spanId);
  assert.ok(poisonSpan);
  assert.equal(poisonSpan.traceId, poison.traceId);
  assert.equal(poisonSpan.status?.code, 2, 'status ERROR');
  assert.ok(poisonSpan.events?.some((e) => e.name === 'dead-lettered'));
});

test('tracing off (the default): no spans even with an endpoint configured, and an input’s traceparent and tracestate reach its output unchanged', async (t) => {
  if (!(await requireServices(t))) return;
  const receiver = await otlpReceiver();
  t.after(() => receiver.close());
  const input = unique('untraced-in');
  const output = unique('untraced-out');
  await createTopics([input, output], 1);
  const [image] = await frames(2);
  const context = traceparent(randomBytes(16).toString('hex'), randomBytes(8).toString('hex'));
  await produce(input, [
    { key: 'cam-0', value: image ?? null, headers: { id: 'a', traceparent: context, tracestate: 'vendor=xyz' } },
    { key: 'cam-1', value: image ?? null, headers: { id: 'b' } },
  ]);
  const dlq = await mkdtemp(path.join(tmpdir(), 'centaur-tracing-dlq-'));
  const off = `tracing: { otlp: { endpoint: ${JSON.stringify(receiver.url)} } }`;
  const runtime = new Runtime(parseTopology(topologyYaml(input, output, dlq, off), 'untraced.yaml'), { logger: pino({ level: 'silent' }) });
  const done = runtime.run();
  const out = await consumeUntil(output, (m) => m.length >= 2);
  runtime.stop();
  await done;
  const byId = new Map(out.map((m) => [(JSON.parse(m.value?.toString('utf8') ?? '{}') as { id: string }).id, m.headers]));
  assert.equal(byId.get('a')?.traceparent, context);
  assert.equal(byId.get('a')?.tracestate, 'vendor=xyz');
  assert.equal(byId.get('b')?.traceparent, undefined, 'no trace context is made up when tracing is off');
  assert.equal(receiver.requests(), 0, 'nothing was exported');
});
