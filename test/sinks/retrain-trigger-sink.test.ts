/**
 * `retrain-trigger-sink` on JSON reports (as `drift-merge-source` emits them, or as `kafka-source`
 * hands over a report topic's values): one request per episode, malformed reports dead-lettered,
 * redeliveries not counted twice, the episode kept across a restart by the state file, and a
 * request that an output could not take delivered on the retry without being sent twice.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import avro from 'avsc';
import type { Sink } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { NO_METRICS } from '../../src/core/metric-family.js';
import type { NodeMetrics } from '../../src/core/metric-family.js';
import { recordingMetrics as recorder } from '../helpers/recording-metrics.js';
import type { DriftReport } from '../../src/drift-monitor/report.js';
import type { RetrainRequest } from '../../src/drift-monitor/retrain-trigger.js';
import { reportRecord } from '../../src/drift-monitor/monitor.js';
import { retrainTriggerSink } from '../../src/sinks/retrain-trigger-sink.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const WINDOW_MS = 60_000;

function report(i: number, drifted: boolean, node = 'drift'): DriftReport {
  return {
    topology: 'cams',
    node,
    model: { name: 'demo', version: '3' },
    mode: 'streaming',
    window: { kind: 'time', start: i * WINDOW_MS, end: (i + 1) * WINDOW_MS },
    inputs: 100,
    eventTimeMin: i * WINDOW_MS,
    eventTimeMax: (i + 1) * WINDOW_MS - 1,
    late: 0,
    columns: [
      { name: 'brightness', kind: 'numerical', method: 'jensenshannon', displayName: 'Jensen-Shannon distance', score: drifted ? 0.4 : 0.02, statistic: undefined, threshold: 0.1, drifted, referenceSize: 1000, currentSize: 100, exact: true, thresholdSource: 'evidently' as const },
      { name: 'format', kind: 'categorical', method: 'chisquare', displayName: 'chi-square p_value', score: 0.6, threshold: 0.05, drifted: false, referenceSize: 1000, currentSize: 100, exact: true, thresholdSource: 'evidently' as const },
    ],
    skipped: [],
    embedding: null,
    dataset: { numberOfColumns: 2, numberOfDriftedColumns: drifted ? 1 : 0, shareOfDriftedColumns: drifted ? 0.5 : 0, driftShare: 0.5, datasetDrift: drifted, rule: 'share' },
    outputs: null,
    thresholds: 'evidently',
    falseAlarmRate: null,
    accuracy: null,
    instances: 1,
    createdAt: 1_800_000_000_000 + i * WINDOW_MS,
  };
}

let offset = 0;
function envelope(value: string | Buffer): Envelope {
  offset += 1;
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return {
    id: `reports-0-${offset}`,
    eventTime: 0,
    position: { source: 'reports', partition: '0', offset },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

const json = (r: DriftReport): Envelope => envelope(JSON.stringify(reportRecord(r)));

/** Retrain metric calls, as outcome strings. */
function recordingMetrics(): { metrics: NodeMetrics; readonly outcomes: string[] } {
  const recorded = recorder();
  const prefix = 'centaur_retrain_requests_total{';
  return {
    metrics: recorded.metrics,
    // model/version/outcome, once per request or suppression.
    get outcomes() {
      return [...recorded.counters].flatMap(([k, n]) => {
        if (!k.startsWith(prefix)) return [];
        const labels = Object.fromEntries(k.slice(prefix.length, -1).split(',').map((p) => p.split('=') as [string, string]));
        return Array.from({ length: n }, () => `${labels.model ?? ''}/${labels.version ?? ''}/${labels.outcome ?? ''}`);
      });
    },
  };
}

async function create(options: Record<string, unknown>, dir: string, metrics: NodeMetrics = NO_METRICS): Promise<Sink> {
  const o = { ...options };
  assert.ok(ajv.validate(retrainTriggerSink.options, o), JSON.stringify(ajv.errors));
  return retrainTriggerSink.create(o, { nodeId: 'retrain', topologyName: 'monitor', baseDir: dir, logger: createLogger('silent'), metrics });
}

async function requestsIn(dir: string): Promise<RetrainRequest[]> {
  const text = await readFile(path.join(dir, 'out', 'retrain-retrain-requests.jsonl'), 'utf8').catch(() => '');
  return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as RetrainRequest);
}

test('K drifted windows in a row give one request per episode, with the windows and drifted features; the metric counts it', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const recorded = recordingMetrics();
  const sink = await create({ on: 'dataset', consecutive: 3, recovery: 2, cooldownMs: 0, files: { dir: 'out' } }, dir, recorded.metrics);
  const pattern = '..DDDD.DDD..DDD';
  for (const [i, c] of [...pattern].entries()) assert.deepEqual(await sink.write([json(report(i, c === 'D'))]), []);
  await sink.flush(true);
  await sink.close();
  const requests = await requestsIn(dir);
  assert.deepEqual(requests.map((r) => r.windows.map((w) => w.start / WINDOW_MS)), [[2, 3, 4], [12, 13, 14]]);
  assert.equal(requests[0]!.id, `cams/drift/time-${4 * WINDOW_MS}-${5 * WINDOW_MS}`);
  assert.deepEqual(requests[0]!.model, { name: 'demo', version: '3' });
  assert.deepEqual(requests[0]!.driftedFeatures, [{ name: 'brightness', method: 'jensenshannon', score: 0.4, threshold: 0.1 }]);
  assert.equal(requests[0]!.requestedAt, report(4, true).createdAt, 'report time, so a replay decides as the live run did');
  assert.deepEqual(recorded.outcomes, ['demo/3/sent', 'demo/3/sent']);
});

test('a value that is not a drift report is rejected (dead letter) and the others in the write still count', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const sink = await create({ consecutive: 2, files: { dir: 'out' } }, dir);
  const bad = [envelope('not json'), envelope(JSON.stringify({ image: 'abc' })), envelope(Buffer.from([0, 0, 0, 0, 1, 2]))];
  const rejected = (await sink.write([json(report(0, true)), ...bad, json(report(1, true))])) ?? [];
  assert.deepEqual(rejected.map((r) => r.envelope), bad);
  assert.ok(rejected.every((r) => r.error instanceof CentaurError && r.error.code === 'DRIFT_REPORT_INVALID' && !r.error.retriable));
  assert.match(rejected[0]!.error.message, /neither Confluent-framed Avro nor JSON/);
  assert.match(rejected[1]!.error.message, /not a drift report/);
  assert.match(rejected[2]!.error.message, /no `schemaRegistry`/);
  await sink.close();
  assert.equal((await requestsIn(dir)).length, 1);
});

test('a redelivered report (at least once) does not count twice, and reports of two drift nodes do not mix', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const sink = await create({ consecutive: 3, files: { dir: 'out' } }, dir);
  await sink.write([json(report(0, true)), json(report(0, true, 'other')), json(report(1, true))]);
  await sink.write([json(report(1, true)), json(report(1, true)), json(report(0, true))]);
  assert.equal((await requestsIn(dir)).length, 0, 'two distinct windows only');
  await sink.write([json(report(2, true))]);
  await sink.close();
  assert.deepEqual((await requestsIn(dir)).map((r) => r.node), ['drift']);
});

test('with a state file, an episode survives a restart: the redelivered window is not counted again and the request is sent once', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const options = { consecutive: 3, recovery: 2, cooldownMs: 3_600_000, files: { dir: 'out' }, stateFile: 'state/retrain.json' };
  let sink = await create(options, dir);
  await sink.write([json(report(0, true)), json(report(1, true))]);
  await sink.close();
  const state = JSON.parse(await readFile(path.join(dir, 'state', 'retrain.json'), 'utf8')) as { type: string; triggers: { state: { streak: unknown[] } }[] };
  assert.equal(state.type, 'centaur-retrain-state');
  assert.equal(state.triggers[0]!.state.streak.length, 2);

  sink = await create(options, dir);
  // The source re-reads from its last commit: window 1 again, then window 2.
  await sink.write([json(report(1, true)), json(report(2, true))]);
  await sink.close();
  assert.deepEqual((await requestsIn(dir)).map((r) => r.windows.map((w) => w.start / WINDOW_MS)), [[0, 1, 2]]);

  // Without the state file the same restart loses the streak: windows 1 and 2 are only two.
  const bare = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const { stateFile: _unused, ...inMemory } = options;
  let memory = await create(inMemory, bare);
  await memory.write([json(report(0, true)), json(report(1, true))]);
  await memory.close();
  memory = await create(inMemory, bare);
  await memory.write([json(report(1, true)), json(report(2, true))]);
  await memory.close();
  assert.equal((await requestsIn(bare)).length, 0);

  // The cooldown survives too: a new episode after recovery is suppressed.
  sink = await create(options, dir);
  await sink.write(['.', '.', 'D', 'D', 'D'].map((c, i) => json(report(3 + i, c === 'D'))));
  await sink.close();
  assert.equal((await requestsIn(dir)).length, 1);
});

test('an unreadable state file stops the start; a sink without an output, or with Avro requests and no registry, is a validation problem', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  await writeFile(path.join(dir, 'state.json'), '{ half');
  await assert.rejects(create({ files: { dir: 'out' }, stateFile: 'state.json' }, dir), (e: unknown) => e instanceof CentaurError && e.code === 'CONFIG_INVALID' && /delete it to start afresh/.test(e.message));
  const problems = (options: Record<string, unknown>): string[] => {
    const filled = structuredClone(options);
    assert.ok(ajv.validate(retrainTriggerSink.options, filled), JSON.stringify(ajv.errors));
    return (retrainTriggerSink.validate?.(filled, { nodeId: 'n', baseDir: dir }) ?? []).map((p) => `${p.path.join('.')}: ${p.message}`);
  };
  assert.deepEqual(problems({}), [': give at least one output for the requests: `files`, `kafka` or `webhook`']);
  assert.deepEqual(problems({ kafka: { brokers: ['b:9092'], topic: 'retrain', format: 'avro' } }), ['kafka.format: format avro on topic retrain needs `schemaRegistry`']);
  assert.deepEqual(problems({ files: { dir: 'out' } }), []);
});

test('a webhook that fails (HTTP 503) fails the write as retriable; the retry delivers the request once to every output', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const received: RetrainRequest[] = [];
  let answers = [503, 200];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const status = answers.shift() ?? 200;
      if (status === 200) received.push(JSON.parse(body) as RetrainRequest);
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/retrain`;
    const sink = await create({ consecutive: 2, files: { dir: 'out' }, webhook: { url, attempts: 1 }, stateFile: 'state.json' }, dir);
    const batch = [json(report(0, true)), json(report(1, true))];
    await assert.rejects(sink.write(batch), (e: unknown) => e instanceof CentaurError && e.retriable && /not delivered to webhook/.test(e.message));
    const pending = JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { pending: { targets: string[] }[] };
    assert.deepEqual(pending.pending.map((p) => p.targets), [['webhook']], 'the files output has it; the webhook is still owed it');
    assert.deepEqual(await sink.write(batch), [], 'the runtime retries the same write');
    await sink.close();
    assert.equal(received.length, 1);
    assert.equal((await requestsIn(dir)).length, 1);
    assert.deepEqual((JSON.parse(await readFile(path.join(dir, 'state.json'), 'utf8')) as { pending: unknown[] }).pending, []);

    // A refusal for good (HTTP 400) is logged and dropped for that output; the write succeeds.
    answers = [400];
    const other = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
    const second = await create({ consecutive: 1, files: { dir: 'out' }, webhook: { url, attempts: 1 } }, other);
    assert.deepEqual(await second.write([json(report(0, true))]), []);
    await second.close();
    assert.equal((await requestsIn(other)).length, 1);
    assert.equal(received.length, 1);
  } finally {
    server.close();
  }
});

test('on accuracy with a configured baseline: reports of controlled accuracy give one request that fits the Avro RetrainRequest', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-retrain-sink-'));
  const sink = await create({ on: 'accuracy', baselineAccuracy: 0.95, accuracyDrop: 0.1, minLabelled: 20, consecutive: 2, files: { dir: 'out' } }, dir);
  // [labelled, correct] per window: fine, a drop, too few labels, a drop, a drop (same episode).
  const windows = [[100, 94], [100, 80], [5, 0], [100, 85], [100, 70]];
  const withAccuracy = windows.map(([labelled, correct], i) => json({ ...report(i, false), accuracy: { labelled: labelled!, correct: correct!, ratio: correct! / labelled!, reference: null } }));
  assert.deepEqual(await sink.write(withAccuracy), []);
  await sink.close();
  const requests = await requestsIn(dir);
  assert.equal(requests.length, 1);
  assert.equal(requests[0]!.reason, 'accuracy');
  assert.equal(requests[0]!.baselineAccuracy, 0.95);
  assert.deepEqual(requests[0]!.windows.map((w) => [w.start / WINDOW_MS, w.labelled, w.accuracy]), [[1, 100, 0.8], [3, 100, 0.85]]);
  const type = avro.Type.forSchema(JSON.parse(await readFile('schemas/avro/retrain-request.avsc', 'utf8')) as avro.Schema);
  assert.ok(type.isValid(requests[0]), 'the request fits the committed Avro schema');
});
