/**
 * Drift outputs on the real broker and schema registry. One topology classifies generated images
 * whose last windows are darkened and runs `drift` with reports (Avro) and retrain requests (Avro)
 * on Kafka topics; an independent kafkajs consumer and the registry client read them back: the
 * reports decode with the committed `drift-report.avsc`, no window drifts before the shift, and
 * the episode gives exactly one request. A second topology, `kafka-source` on the report topic →
 * `retrain-trigger-sink`, makes the same single request from the reports alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { driftProfileCommand } from '../../src/cli/drift-profile.js';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { avroSchema, BROKERS, consumeUntil, createTopics, REGISTRY_URL, registry, requireServices, unique } from '../helpers/kafka.js';
import { writeShiftedStream } from '../helpers/drift-images.js';

const MODEL = path.resolve('models/demo');
const WINDOW = 100;
const WINDOWS = 8;
const DARKENED = 3;

interface ReportRecord {
  topology: string;
  node: string;
  window: { kind: string; start: number; end: number };
  inputs: number;
  columns: { name: string; drifted: boolean; score: number }[];
  dataset: { datasetDrift: boolean; shareOfDriftedColumns: number; rule: string } | null;
  accuracy: unknown;
  thresholds: string;
}

interface RequestRecord {
  id: string;
  windows: { start: number; end: number }[];
  driftedFeatures: { name: string }[];
  model: { name: string; version: string } | null;
  reason: string;
  reasons: string[];
}

async function runUntil(yaml: string, file: string, done: () => Promise<void>): Promise<{ deadLetters: number }> {
  const runtime = new Runtime(parseTopology(yaml, file), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') });
  const running = runtime.run();
  try {
    await done();
  } finally {
    runtime.stop();
  }
  return running;
}

test('drift reports and retrain requests on Kafka (Avro): readable with the committed schema, quiet before the shift, one request per episode; retrain-trigger-sink agrees', async (t) => {
  if (!(await requireServices(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-drift-kafka-'));
  await generateImages({ outDir: path.join(dir, 'reference'), count: 1000, seed: 31_000, width: 96, height: 72 });
  const out: string[] = [];
  assert.equal(await driftProfileCommand(path.join(dir, 'reference'), { out: path.join(dir, 'profile.json'), model: MODEL, calibrateSizes: String(WINDOW) }, { out: (s) => out.push(s), err: (s) => out.push(s) }), 0, out.join('\n'));
  await writeShiftedStream(path.join(dir, 'images'), WINDOWS * WINDOW, 32_000, DARKENED * WINDOW);

  // One partition for reports: a node's reports reach the trigger sink in window order.
  const topics = { reports: unique('drift-reports'), requests: unique('retrain-requests'), sinkRequests: unique('retrain-requests-sink') };
  await createTopics(Object.values(topics), 1);
  const registryYaml = `{ url: ${JSON.stringify(REGISTRY_URL)} }`;
  const driftYaml = `version: 1
name: ${unique('drift-kafka')}
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  drift:
    kind: drift
    from: [infer]
    profile: profile.json
    window: { by: count, size: ${WINDOW} }
    reports: { kafka: { brokers: [${BROKERS}], topic: ${topics.reports}, format: avro, schemaRegistry: ${registryYaml} } }
    retrain: { consecutive: 2, recovery: 2, kafka: { brokers: [${BROKERS}], topic: ${topics.requests}, format: avro, schemaRegistry: ${registryYaml} } }
  out: { kind: files-sink, from: [drift], dir: out }
`;
  const first = await new Runtime(parseTopology(driftYaml, path.join(dir, 'drift.yaml')), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') }).run();
  assert.equal(first.deadLetters, 0);

  // Reports: read back with an independent consumer, decoded with the committed schema itself.
  const reportMessages = await consumeUntil(topics.reports, (m) => m.length >= WINDOWS, { timeoutMs: 60_000, quietMs: 500 });
  assert.equal(reportMessages.length, WINDOWS);
  const committed = avro.Type.forSchema(JSON.parse(await avroSchema('drift-report')) as avro.Schema);
  const schemaId = await registry.getRegistryIdBySchema(`${topics.reports}-value`, { type: SchemaType.AVRO, schema: await avroSchema('drift-report') });
  const reports = reportMessages.map((m) => {
    const value = m.value as Buffer;
    assert.equal(value[0], 0, 'Confluent framing');
    assert.equal(value.readInt32BE(1), schemaId, 'written with the committed schema as registered');
    return committed.fromBuffer(value.subarray(5)) as ReportRecord;
  });
  for (const [i, m] of reportMessages.entries()) assert.deepEqual(JSON.parse(JSON.stringify(await registry.decode(m.value as Buffer))), JSON.parse(JSON.stringify(reports[i])));
  assert.deepEqual(reports.map((r) => r.window.start), Array.from({ length: WINDOWS }, (_, i) => i * WINDOW));
  assert.ok(reports.every((r) => r.inputs === WINDOW && r.node === 'drift' && r.accuracy === null));
  const verdicts = reports.map((r) => r.dataset?.datasetDrift);
  const shift = WINDOWS - DARKENED;
  assert.deepEqual(verdicts.slice(0, shift), Array.from({ length: shift }, () => false), `no drift before the shift: ${JSON.stringify(reports.map((r) => r.dataset?.shareOfDriftedColumns))}`);
  assert.ok(verdicts.slice(shift).every((v) => v === true), `drift in every darkened window: ${JSON.stringify(verdicts)}`);
  assert.equal(reportMessages[0]!.key, `${reports[0]!.topology}/drift/0`);

  // Requests: exactly one for the episode of three drifted windows.
  const requestMessages = await consumeUntil(topics.requests, (m) => m.length >= 1, { timeoutMs: 30_000, quietMs: 1500 });
  assert.equal(requestMessages.length, 1, 'one request per episode');
  const request = (await registry.decode(requestMessages[0]!.value as Buffer)) as RequestRecord;
  assert.deepEqual(request.windows.map((w) => w.start), [shift * WINDOW, (shift + 1) * WINDOW]);
  assert.ok(request.driftedFeatures.some((f) => f.name === 'brightness'));
  assert.equal(request.reason, 'anyOf(dataset, embedding)', 'the calibrated profile\'s default condition');
  assert.ok(request.reasons.includes('dataset'));
  assert.ok(reports.every((r) => r.thresholds === 'calibrated' && r.dataset?.rule === 'calibrated'), 'v3 fields read back with the committed schema');
  assert.equal(request.model?.name, 'horse-or-human');

  // The same from the reports alone: kafka-source on the report topic → retrain-trigger-sink.
  const triggerYaml = `version: 1
name: ${unique('retrain-from-reports')}
nodes:
  reports:
    kind: kafka-source
    brokers: [${BROKERS}]
    topics: [${topics.reports}]
    groupId: ${unique('retrain-trigger')}
    value: { format: bytes }
  retrain:
    kind: retrain-trigger-sink
    from: [reports]
    consecutive: 2
    recovery: 2
    schemaRegistry: ${registryYaml}
    stateFile: state/retrain.json
    kafka: { brokers: [${BROKERS}], topic: ${topics.sinkRequests}, format: avro, schemaRegistry: ${registryYaml} }
`;
  await writeFile(path.join(dir, 'trigger.yaml'), triggerYaml);
  let sinkMessages: Awaited<ReturnType<typeof consumeUntil>> = [];
  const second = await runUntil(triggerYaml, path.join(dir, 'trigger.yaml'), async () => {
    sinkMessages = await consumeUntil(topics.sinkRequests, (m) => m.length >= 1, { timeoutMs: 60_000, quietMs: 3000 });
  });
  assert.equal(second.deadLetters, 0);
  assert.equal(sinkMessages.length, 1, 'the sink makes the one request too');
  assert.deepEqual(await registry.decode(sinkMessages[0]!.value as Buffer), request, 'the same request: id, windows, features, model, time');
  const state = JSON.parse(await readFile(path.join(dir, 'state', 'retrain.json'), 'utf8')) as { triggers: { state: { inEpisode: boolean } }[]; pending: unknown[] };
  assert.deepEqual(state.triggers.map((x) => x.state.inEpisode), [true]);
  assert.deepEqual(state.pending, []);
});
