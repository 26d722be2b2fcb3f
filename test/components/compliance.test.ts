/**
 * The compliance suite, generated from the registry: every component kind runs its spec's first
 * example (the options docs/components.md shows), handles one input without losing it, closes,
 * and has a documented schema. Nothing here is per kind but the inputs of the two kinds that read
 * something other than images, and what the two label kinds need to exist first (a stored
 * embedding, an annotated Label Studio task): a new component needs only its example.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { asyncScheduler, lastValueFrom, of, toArray } from 'rxjs';
import sharp from 'sharp';
import type { ComponentSpec, Operator, OperatorContext, Sink, Source } from '../../src/core/component.js';
import { envelopesOf } from '../../src/core/envelope.js';
import type { Envelope, EnvelopeInit, Item } from '../../src/core/envelope.js';
import { createLogger } from '../../src/core/logger.js';
import { CentaurError } from '../../src/core/errors.js';
import { buildReferenceProfile, profileFeatureSpecs, writeReferenceProfile } from '../../src/drift-monitor/profile.js';
import { WindowState } from '../../src/drift-monitor/window-state.js';
import { substituteEnv } from '../../src/topology/env-substitution.js';
import { allComponents, componentByKind } from '../../src/topology/registry.js';
import { optionRows } from '../../src/reference/component-docs.js';
import { BROKERS, createTopics, produce, REGISTRY_URL, requireServices, unique } from '../helpers/kafka.js';
import { KINESIS_ENDPOINT, streamWithOneRecord } from '../helpers/kinesis.js';
import { REDIS_URL } from '../helpers/redis.js';
import { LABEL_STUDIO_TOKEN, LABEL_STUDIO_URL, requireLabelStudio } from '../helpers/label-studio.js';
import { feastRow } from '../../src/feature-store/feast-redis-layout.js';
import { onlineFeatures } from '../../src/feature-store/feature-row.js';
import { FeastOnlineStore } from '../../src/feature-store/online-store.js';
import { LabelStudioClient } from '../../src/labelling/label-studio-client.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { demoModelCopy, demoTrainingSet } from '../helpers/training-rows.js';

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

/** The services the examples name, by the variables `scripts/services/services.sh env` exports. */
const SERVICES: Record<string, string> = {
  CENTAUR_KAFKA_BROKERS: BROKERS,
  CENTAUR_SCHEMA_REGISTRY_URL: REGISTRY_URL,
  CENTAUR_REDIS_URL: REDIS_URL,
  CENTAUR_KINESIS_ENDPOINT: KINESIS_ENDPOINT,
  CENTAUR_LABEL_STUDIO_URL: LABEL_STUDIO_URL,
  CENTAUR_LABEL_STUDIO_TOKEN: LABEL_STUDIO_TOKEN,
};

const imageRows = [0.2, 0.4, 0.6].map((brightness) => ({ values: { brightness, contrast: 0.1, sharpness: 0.01, width: 64, height: 48, format: 'jpeg' } }));

/**
 * The folder every example runs in (the topology folder its relative paths resolve against):
 * `images/` with one JPEG, `models/demo`, and `reference-profile.json`.
 */
async function playground(kind: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), `centaur-compliance-${kind}-`));
  await mkdir(path.join(dir, 'images'));
  await writeFile(path.join(dir, 'images', 'one.jpg'), jpeg);
  await mkdir(path.join(dir, 'models'));
  await symlink(path.resolve('models/demo'), path.join(dir, 'models', 'demo'), 'dir');
  await writeReferenceProfile(path.join(dir, 'reference-profile.json'), buildReferenceProfile(imageRows));
  return dir;
}

/**
 * The inputs of the two kinds that read something other than an image: window partials of two
 * `drift` instances, and a drift report. Every other kind gets the JPEG (sources find it in their
 * topic, stream or folder; operators and sinks get it decoded, predicted and labelled).
 */
const NOT_IMAGES: Record<string, () => Buffer[]> = {
  'drift-merge-source': () => {
    const profile = buildReferenceProfile(imageRows);
    return ['a', 'b'].map((instance) => {
      const state = new WindowState({ profile, mode: 'evidently', features: profileFeatureSpecs([]).filter((f) => profile.features[f.name] !== undefined), sampleCap: 1000, embedding: false }, 1);
      state.add(envelope({ image: { width: 64, height: 48, format: 'jpeg', brightness: 0.5, contrast: 0.1, sharpness: 0.01 } }));
      const partial = { type: 'drift-partial', version: 1, topology: 't', node: 'drift', instance, window: { kind: 'time', start: 0, end: 60000 }, late: 0, state: state.toJSON() };
      return Buffer.from(JSON.stringify(partial));
    });
  },
  'retrain-trigger-sink': () => [Buffer.from(JSON.stringify({ topology: 't', node: 'drift', model: null, mode: 'streaming', window: { kind: 'time', start: 0, end: 60000 }, inputs: 1, columns: [], dataset: null, createdAt: 1 }))],
  'trainer-sink': () => [Buffer.from(JSON.stringify({ id: 't/drift/60000', episode: 't/drift/1/0', model: { name: 'horse-or-human', version: '1' }, requestedAt: 1, reasons: ['embedding'] }))],
};

/**
 * What the kinds that join or read labels need before their one input: `training-set-sink` the
 * input's stored embedding (in a fresh Feast project), `label-studio-source` a project holding one
 * annotated task. Each returns the options pointed at what it made.
 */
const PREPARE: Record<string, (options: Record<string, unknown>, t: TestContext) => Promise<Record<string, unknown> | undefined>> = {
  'training-set-sink': async (options) => {
    const features = options.features as Record<string, unknown>;
    const project = unique('compliance').replace(/[^A-Za-z0-9_]/g, '_');
    const store = new FeastOnlineStore({ url: String(features.url), timeoutMs: 5000, ttlSeconds: 0 }, logger, 'compliance');
    await store.connect();
    const row = { entity: 'one', eventTime: Date.now(), modelName: 'horse-or-human', modelVersion: '1', embedding: new Float32Array(1280).fill(0.5), predictedLabel: 'horse', confidence: 0.9, probabilities: [0.9, 0.1] };
    await store.write([feastRow({ project, featureView: String(features.featureView), joinKey: 'image_id' }, 'one', onlineFeatures(row), row.eventTime)]);
    await store.close();
    return { ...options, features: { ...features, project } };
  },
  'trainer-sink': async (options) => {
    // The example's registry holding the demo model as production, and a training set it can train from.
    const dir = await mkdtemp(path.join(tmpdir(), 'centaur-compliance-trainer-'));
    const registry = new ModelRegistry(path.join(dir, 'registry'));
    await registry.register(await demoModelCopy(dir), { aliases: ['production'] });
    const trainingSet = await demoTrainingSet(dir, (await loadManifest('models/demo')).fingerprint);
    return { ...options, trainingSet, model: { ...(options.model as Record<string, unknown>), registry: path.join(dir, 'registry') }, training: { minPerClass: 5 } };
  },
  'label-studio-source': async (options, t) => {
    if (!(await requireLabelStudio(t))) return undefined;
    const client = new LabelStudioClient({ url: LABEL_STUDIO_URL, token: LABEL_STUDIO_TOKEN, tokenType: 'legacy', timeoutMs: 10000 });
    const project = unique('compliance');
    const id = await client.ensureProject(project, ['horse', 'human']);
    await client.importTasks(id, [{ data: { image: 'https://example.com/one.jpg', inputId: 'one' }, prediction: { modelVersion: 'm@1', score: 0.9, choice: 'horse' } }]);
    const [task] = await client.listChangedTasks(id, 0, 10);
    await client.annotate(task!.id, 'horse');
    return { ...options, project, tokenType: 'legacy' };
  },
};

/**
 * The options of a spec's first example, made to run here: `${NAME}`s substituted with the test
 * services, and the placeholder names of topics, streams and groups replaced by fresh ones (a
 * source's holding its input).
 */
async function runnable(spec: ComponentSpec, inputs: readonly Buffer[]): Promise<Record<string, unknown>> {
  const options = substituteEnv(structuredClone(spec.examples[0].options), [], SERVICES, new Set(), (_p, name) => assert.fail(`the example names \`\${${name}}\`, which is not a test service`)) as Record<string, unknown>;
  const freshTopic = async (): Promise<string> => {
    const topic = unique(`compliance-${spec.kind}`);
    await createTopics([topic], 1);
    if (spec.role === 'source') await produce(topic, inputs.map((value, i) => ({ key: `k${i}`, value })));
    return topic;
  };
  if (Array.isArray(options.topics)) options.topics = [await freshTopic()];
  if (typeof options.topic === 'string') options.topic = await freshTopic();
  if (typeof options.groupId === 'string') options.groupId = unique('compliance');
  if (typeof options.streamName === 'string') options.streamName = await streamWithOneRecord('compliance', inputs[0] as Buffer);
  return options;
}

/** The one input an operator or sink gets: the JPEG, decoded by decode-image's defaults, predicted, labelled and picked for labelling. */
async function preparedEnvelope(bytes: Buffer): Promise<Envelope> {
  const decodeImage = componentByKind('decode-image');
  assert.ok(decodeImage?.role === 'operator');
  const decode = await decodeImage.create(withDefaults(decodeImage.options, {}), { nodeId: 'decode', topologyName: 'compliance', baseDir: '.', logger });
  const failed: unknown[] = [];
  const [decoded] = (await lastValueFrom(decode.apply(of<Item>(envelope()), { nodeId: 'decode', scheduler: asyncScheduler, fail: (_e, error) => failed.push(error) }).pipe(toArray()))).flatMap(envelopesOf);
  assert.ok(decoded !== undefined, `decoding the test image: ${failed.map(String).join()}`);
  return {
    ...decoded,
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    label: 'horse',
    prediction: { label: 'horse', classIndex: 0, confidence: 0.9, probabilities: [0.9, 0.1] },
    model: { name: 'horse-or-human', version: '1', classes: ['horse', 'human'] },
    embedding: new Float32Array(1280).fill(0.5),
    labelling: { strategy: 'uncertainty', method: 'margin', uncertainty: 0.2, node: 'select', window: 0 },
    annotation: { label: 'horse', annotator: 'compliance', origin: 'kafka', labelTime: Date.now() },
  };
}

function withDefaults(schema: ComponentSpec['options'], options: Record<string, unknown>): Record<string, unknown> {
  assert.ok(ajv.validate(schema, options), JSON.stringify(ajv.errors));
  return options;
}

test('kinds are unique and named by role', () => {
  for (const spec of allComponents) {
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

  test(`${spec.kind}: its first example runs: handles one input without losing it, closes`, async (t) => {
    const dir = await playground(spec.kind);
    const inputs = NOT_IMAGES[spec.kind]?.() ?? [jpeg];
    if (JSON.stringify(spec.examples[0].options).includes('${CENTAUR_') && !(await requireServices(t))) return;
    const prepare = PREPARE[spec.kind];
    const options = prepare === undefined ? await runnable(spec, inputs) : await prepare(await runnable(spec, inputs), t);
    if (options === undefined) return;
    assert.ok(ajv.validate(spec.options, options), JSON.stringify(ajv.errors));
    const ctx = { nodeId: 'node', topologyName: 'compliance', baseDir: dir, logger };
    const input = NOT_IMAGES[spec.kind] === undefined ? await preparedEnvelope(jpeg) : envelope({ payload: { kind: 'bytes', bytes: inputs[0] as Buffer }, sizeBytes: (inputs[0] as Buffer).length });
    await exercise(spec, options, ctx, input);
  });
}

async function exercise(spec: ComponentSpec, options: Record<string, unknown>, ctx: { nodeId: string; topologyName: string; baseDir: string; logger: typeof logger }, input: Envelope): Promise<void> {
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
    const out = await lastValueFrom(operator.apply(of<Item>(input), opCtx).pipe(toArray()));
    const emitted = out.flatMap(envelopesOf);
    assert.equal(emitted.length + failed.length, 1, 'the input was emitted or failed, never dropped');
    assert.equal(failed.length, 0, `failed: ${failed.map((f) => String(f.error)).join()}`);
    assert.ok(failed.every((f) => f.error instanceof CentaurError));
    await operator.close?.();
  } else {
    const sink: Sink = await spec.create(options, ctx);
    if (sink.writeDeadLetters !== undefined && spec.role === 'sink' && spec.takesDeadLetters === true) {
      await sink.writeDeadLetters([{ envelope: input, node: 'n', error: new CentaurError('IMAGE_DECODE_FAILED', 'x'), time: Date.now() }]);
    } else {
      const rejected = await sink.write([input]);
      assert.deepEqual(rejected ?? [], [], 'the sink refused its only input');
    }
    await sink.flush(true);
    await sink.close();
  }
}
