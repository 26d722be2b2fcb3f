/**
 * The compliance suite, generated from the registries: every component kind is created from its
 * defaults plus the fewest options it needs, handles one input without losing it, closes, and has
 * a documented schema. A new component must add its fixture below, or this suite fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Ajv } from 'ajv';
import { asyncScheduler, lastValueFrom, of, toArray } from 'rxjs';
import sharp from 'sharp';
import type { ComponentSpec, Operator, OperatorContext, Sink, Source } from '../../src/core/component.js';
import { envelopesOf } from '../../src/core/envelope.js';
import type { Envelope, EnvelopeInit, Item } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { CentaurError } from '../../src/core/errors.js';
import { allComponents } from '../../src/topology/registry.js';
import { optionRows } from '../../src/cli/describe-options.js';
import { BROKERS, createTopics, produce, REGISTRY_URL, requireServices, unique } from '../helpers/kafka.js';
import { KINESIS_ENDPOINT, streamWithOneRecord } from '../helpers/kinesis.js';

const ajv = new Ajv({ useDefaults: true, strict: false });
const logger = createLogger('silent');
const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 40, b: 90 } } }).jpeg().toBuffer();

function envelope(extra: Partial<Envelope> = {}): Envelope {
  return {
    id: 'one',
    eventTime: Date.now(),
    position: { source: 's', partition: '0', offset: 0, uri: 'file:///one.jpg' },
    payload: { kind: 'bytes', bytes: jpeg },
    sizeBytes: jpeg.length,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    ...extra,
  };
}

const tinyTensor = { data: new Uint8Array(4 * 4 * 3).fill(200), width: 4, height: 4, channels: 3, scale: 'unit' as const };

/** A fresh topic holding one JPEG message, for the Kafka source. */
async function topicWithOneImage(): Promise<string> {
  const topic = unique('compliance');
  await createTopics([topic], 1);
  await produce(topic, [{ key: 'k', value: jpeg }]);
  return topic;
}

/** Per kind: the fewest options it needs (in `dir`), whether it needs the services, and the one input an operator gets. */
const fixtures: Record<string, { options: (dir: string) => Record<string, unknown> | Promise<Record<string, unknown>>; services?: boolean; input?: () => Item }> = {
  'files-source': { options: () => ({ path: 'images' }) },
  'decode-image': { options: () => ({}), input: () => envelope() },
  'micro-batch': { options: () => ({ maxDelayMs: 1 }), input: () => envelope({ tensor: tinyTensor }) },
  infer: { options: () => ({ model: { path: path.resolve('test/fixtures/tiny-model') } }), input: () => envelope({ tensor: tinyTensor }) },
  drift: {
    options: async (dir) => {
      const { buildReferenceProfile, writeReferenceProfile } = await import('../../src/drift-monitor/profile.js');
      const rows = [0.2, 0.4, 0.6].map((brightness) => ({ values: { brightness, contrast: 0.1, sharpness: 0.01, width: 64, height: 48, format: 'jpeg' } }));
      await writeReferenceProfile(path.join(dir, 'profile.json'), buildReferenceProfile(rows));
      return { profile: 'profile.json', window: { by: 'count', size: 1 } };
    },
    input: () => envelope({ image: { width: 64, height: 48, format: 'jpeg', brightness: 0.5, contrast: 0.1, sharpness: 0.01 } }),
  },
  cache: {
    options: () => ({ mode: 'store', namespace: 'compliance', ttlSeconds: 60, url: process.env.CENTAUR_REDIS_URL ?? 'redis://127.0.0.1:6379' }),
    input: () => envelope({ prediction: { label: 'a', classIndex: 0, confidence: 1, probabilities: [1] }, model: { name: 'm', version: '1' } }),
  },
  'drift-merge-source': {
    services: true,
    options: async (dir) => {
      const { buildReferenceProfile, writeReferenceProfile, profileFeatureSpecs } = await import('../../src/drift-monitor/profile.js');
      const { WindowState } = await import('../../src/drift-monitor/window-state.js');
      const rows = [0.2, 0.4, 0.6].map((brightness) => ({ values: { brightness, contrast: 0.1, sharpness: 0.01, width: 64, height: 48, format: 'jpeg' } }));
      const profile = buildReferenceProfile(rows);
      await writeReferenceProfile(path.join(dir, 'profile.json'), profile);
      const state = new WindowState({ profile, mode: 'evidently', features: profileFeatureSpecs([]).filter((f) => profile.features[f.name] !== undefined), sampleCap: 1000, embedding: false }, 1);
      state.add(envelope({ image: { width: 64, height: 48, format: 'jpeg', brightness: 0.5, contrast: 0.1, sharpness: 0.01 } }));
      const partial = { type: 'drift-partial', version: 1, topology: 't', node: 'drift', instance: 'a', window: { kind: 'time', start: 0, end: 60000 }, late: 0, state: state.toJSON() };
      const topic = unique('compliance-partials');
      await createTopics([topic], 1);
      await produce(topic, [{ key: 't/drift/0', value: JSON.stringify(partial) }]);
      return { brokers: [BROKERS], topic, groupId: unique('compliance'), instances: 1, profile: 'profile.json' };
    },
  },
  filter: { options: () => ({ field: 'label', equals: 'horse' }), input: () => envelope({ label: 'horse' }) },
  'files-sink': { options: () => ({ dir: 'out' }) },
  'object-source': { options: () => ({ uri: 'images' }) },
  'retrain-trigger-sink': {
    options: () => ({ files: { dir: 'out' } }),
    input: () => {
      const report = { topology: 't', node: 'drift', model: null, mode: 'streaming', window: { kind: 'time', start: 0, end: 60000 }, inputs: 1, columns: [], dataset: null, createdAt: 1 };
      const bytes = Buffer.from(JSON.stringify(report));
      return envelope({ payload: { kind: 'bytes', bytes }, sizeBytes: bytes.length });
    },
  },
  'stdout-sink': { options: () => ({ every: 1000000 }) },
  'dead-letter': { options: () => ({ dir: 'dlq' }) },
  'object-sink': { options: () => ({ uri: 'lake', maxIdleMs: 10 }) },
  'tfrecord-sink': { options: () => ({ uri: 'training', maxIdleMs: 10 }) },
  'feature-store-sink': { options: () => ({ offline: { uri: 'lake', maxIdleMs: 10 } }), input: () => envelope({ prediction: { label: 'a', classIndex: 0, confidence: 1, probabilities: [1] }, model: { name: 'm', version: '1' }, embedding: new Float32Array([0.5]) }) },
  'fetch-object': { options: () => ({ fileBase: path.resolve('data/quickstart') }), input: () => envelope({ payload: { kind: 'reference', uri: pathToFileURL(path.resolve('data/quickstart/horses/horse-000000.jpg')).href } }) },
  'kafka-source': {
    services: true,
    options: async () => ({ brokers: [BROKERS], topics: [await topicWithOneImage()], groupId: unique('compliance'), value: { format: 'bytes' } }),
  },
  'kinesis-source': {
    services: true,
    options: async () => ({ streamName: await streamWithOneRecord('compliance', jpeg), endpoint: KINESIS_ENDPOINT, value: { format: 'bytes' }, pollIntervalMs: 50 }),
  },
  'kafka-sink': {
    services: true,
    options: async () => {
      const topic = unique('compliance-out');
      await createTopics([topic], 1);
      return { brokers: [BROKERS], topic, schemaRegistry: { url: REGISTRY_URL } };
    },
  },
  'kafka-dead-letter': {
    services: true,
    options: async () => {
      const topic = unique('compliance-dlq');
      await createTopics([topic], 1);
      return { brokers: [BROKERS], topic, schemaRegistry: { url: REGISTRY_URL } };
    },
  },
};

test('every registered kind has a compliance fixture, and kinds are named by role', () => {
  for (const spec of allComponents) {
    assert.ok(fixtures[spec.kind], `add a compliance fixture for \`${spec.kind}\``);
    if (spec.role === 'source') assert.match(spec.kind, /-source$/);
    if (spec.role === 'sink') assert.match(spec.kind, /-sink$|dead-letter$/);
    if (spec.role === 'operator') assert.doesNotMatch(spec.kind, /-(source|sink)$/);
  }
  assert.equal(new Set(allComponents.map((s) => s.kind)).size, allComponents.length, 'kinds are unique');
});

for (const spec of allComponents) {
  test(`${spec.kind}: schema documented, unknown fields rejected, one-line description`, async () => {
    assert.equal((spec.options as { additionalProperties?: boolean }).additionalProperties, false);
    assert.ok(spec.description.length > 10 && !spec.description.includes('\n'));
    for (const row of optionRows(spec)) assert.ok(row.description.length > 0, `option \`${row.name}\` has no description`);
    const docs = await readFile('docs/components.md', 'utf8');
    assert.match(docs, new RegExp(`### \`${spec.kind}\``));
  });

  test(`${spec.kind}: created from defaults, handles one input without losing it, closes`, async (t) => {
    const dir = await mkdtemp(path.join(tmpdir(), `centaur-compliance-${spec.kind}-`));
    await mkdir(path.join(dir, 'images'));
    await writeFile(path.join(dir, 'images', 'one.jpg'), jpeg);
    const fixture = fixtures[spec.kind];
    assert.ok(fixture);
    if (fixture.services === true && !(await requireServices(t))) return;
    const options = await fixture.options(dir);
    assert.ok(ajv.validate(spec.options, options), JSON.stringify(ajv.errors));
    const ctx = { nodeId: 'node', topologyName: 'compliance', baseDir: dir, logger };
    await exercise(spec, options, ctx, fixture.input);
  });
}

async function exercise(spec: ComponentSpec, options: Record<string, unknown>, ctx: { nodeId: string; topologyName: string; baseDir: string; logger: typeof logger }, input?: () => Item): Promise<void> {
  if (spec.role === 'source') {
    const source: Source = await spec.create(options, ctx);
    const emitted: EnvelopeInit[] = [];
    let failed: unknown;
    const started = source.start({ emit: (e) => emitted.push(e), fail: (_e, error) => (failed = error) });
    // A finite source ends by itself; an endless one (Kafka) is stopped once its input arrived.
    const deadline = Date.now() + 30000;
    let ended = false;
    void started.finally(() => (ended = true));
    while (!ended && emitted.length === 0 && failed === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(failed, undefined, `the source failed its only input: ${String(failed)}`);
    assert.equal(emitted.length, 1);
    const position = emitted[0]?.position;
    await source.commit(position?.partition ?? '', position?.offset ?? 0);
    await source.stop();
    await started;
    await source.close?.();
  } else if (spec.role === 'operator') {
    const operator: Operator = await spec.create(options, ctx);
    const failed: { envelope: Envelope; error: unknown }[] = [];
    const opCtx: OperatorContext = { nodeId: 'node', scheduler: asyncScheduler, fail: (envelope, error) => failed.push({ envelope, error }) };
    assert.ok(input);
    const out = await lastValueFrom(operator.apply(of(input()), opCtx).pipe(toArray()));
    const emitted = out.flatMap(envelopesOf);
    assert.equal(emitted.length + failed.length, 1, 'the input was emitted or failed, never dropped');
    assert.equal(failed.length, 0, `failed: ${failed.map((f) => String(f.error)).join()}`);
    assert.ok(failed.every((f) => f.error instanceof CentaurError));
    await operator.close?.();
  } else {
    const sink: Sink = await spec.create(options, ctx);
    if (sink.writeDeadLetters !== undefined && spec.role === 'sink' && spec.takesDeadLetters === true) {
      await sink.writeDeadLetters([{ envelope: envelope(), node: 'n', error: new CentaurError('IMAGE_DECODE_FAILED', 'x'), time: Date.now() }]);
    } else {
      const written = input === undefined ? [envelope({ prediction: { label: 'a', classIndex: 0, confidence: 1, probabilities: [1] }, model: { name: 'm', version: '1', classes: ['a'] } })] : envelopesOf(input());
      const rejected = await sink.write(written);
      assert.deepEqual(rejected ?? [], [], 'the sink refused its only input');
    }
    await sink.flush(true);
    await sink.close();
  }
}
