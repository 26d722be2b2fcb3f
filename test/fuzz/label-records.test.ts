/**
 * Fuzzing the reading of label events, from both places they come from: label records
 * (`labelFromRecord`, and through `decodeInput` for JSON messages of a `kafka-source` with
 * `value.content: label`) and Label Studio (`LabelStudioClient.listChangedTasks` reading the tasks
 * API's answer, then `labelFromLabelStudio` per annotation). Random JSON, random bytes, records
 * shaped almost right (wrong types, huge and unicode text, control characters, `__proto__` /
 * `constructor` keys) and arbitrary API answers each give a label event or a `CentaurError`
 * (`LABEL_INVALID`; `KAFKA_VALUE_INVALID` for a message that is no JSON record;
 * `LABEL_STUDIO_UNAVAILABLE` for an answer that is no JSON) — never a raw error — a label event
 * that comes out keeps the documented bounds, and nothing lands on `Object.prototype`.
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Value } from '@sinclair/typebox/value';
import { LABEL_ORIGINS, SELECTION_STRATEGIES } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import type { KafkaInputMessage } from '../../src/kafka/client.js';
import { decodeInput, ValueOptions } from '../../src/kafka/input-message.js';
import { labelFromLabelStudio, labelFromRecord, MAX_LABEL_TEXT } from '../../src/labelling/label-event.js';
import type { LabelEvent } from '../../src/labelling/label-event.js';
import { LabelStudioClient } from '../../src/labelling/label-studio-client.js';
import type { LabelStudioAnnotation, LabelStudioTaskRecord } from '../../src/labelling/label-studio-client.js';
import { assertPrototypeClean, describe, typedOutcome, typedOutcomeSync } from '../helpers/fuzz.js';

const NOW = Date.now();
const INVALID: readonly ErrorCode[] = ['LABEL_INVALID'];

/** What a label event that comes out promises: short printable text, a known origin and selection, a time. */
function assertBounded(event: LabelEvent, input: unknown): void {
  const where = `input: ${describe(input)}`;
  for (const t of [event.inputId, event.annotation.label, event.annotation.annotator]) {
    assert.ok(typeof t === 'string' && t.length > 0 && t === t.trim(), where);
    assert.ok(!/[\p{Cc}\p{Cf}\p{Cs}]/u.test(t), where);
  }
  assert.ok([...event.inputId].length <= MAX_LABEL_TEXT && [...event.annotation.label].length <= MAX_LABEL_TEXT, where);
  assert.ok((LABEL_ORIGINS as readonly string[]).includes(event.annotation.origin), where);
  assert.ok(event.annotation.selection === undefined || (SELECTION_STRATEGIES as readonly string[]).includes(event.annotation.selection), where);
  assert.ok(Number.isFinite(event.annotation.labelTime) && event.annotation.labelTime >= 0, where);
}

function fromRecord(record: Record<string, unknown>): void {
  let event: LabelEvent | undefined;
  typedOutcomeSync(() => (event = labelFromRecord(record, NOW)), INVALID, () => describe(record));
  if (event !== undefined) assertBounded(event, record);
}

const PROTO_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'polluted'];
/** Text of every kind: short, unicode, lone surrogates, control and zero-width characters, long, prototype names. */
const text = fc.oneof(
  fc.string({ maxLength: 16 }),
  fc.string({ unit: 'grapheme', maxLength: 16 }),
  fc.string({ unit: 'binary', maxLength: 16 }),
  fc.integer({ min: 250, max: 50_000 }).map((n) => 'ä'.repeat(n)),
  fc.constantFrom('', '  ', 'horse', ' horse ', 'label-studio:3', 'cat\u200b', 'x\u0000', '\ud800', 'e\u0301', ...PROTO_KEYS, ...LABEL_ORIGINS, ...SELECTION_STRATEGIES),
);
const wrong = fc.oneof(fc.constantFrom(null, undefined, true, 0, -1, Number.NaN, Infinity, [], {}), fc.double(), fc.array(fc.string(), { maxLength: 2 }), fc.object({ maxDepth: 1 }), fc.date({ noInvalidDate: false }));
const time = fc.oneof(
  fc.integer({ min: -1, max: 2 ** 45 }),
  fc.constantFrom(NOW, NOW + 2 * 86_400_000, '1700000000000', '2026-01-02T03:04:05Z', 'yesterday', '-5', '9'.repeat(400)),
  fc.date({ noInvalidDate: false }),
  fc.string({ maxLength: 12 }),
);

/** A label record with each field of its right type or a wrong one, some left out. */
const almostLabel = fc.record(
  {
    inputId: fc.oneof(text, wrong),
    label: fc.oneof(text, wrong),
    annotator: fc.oneof(text, wrong),
    origin: fc.oneof(fc.constantFrom(...LABEL_ORIGINS), text, wrong),
    labelTime: fc.oneof(time, wrong),
    selection: fc.oneof(fc.constantFrom(...SELECTION_STRATEGIES), text, wrong),
  },
  { requiredKeys: [] },
);
const key = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom(...PROTO_KEYS, 'inputId', 'label', 'annotator', 'origin', 'labelTime', 'selection'));

test('label records shaped almost right give a bounded label event or LABEL_INVALID', () => {
  fc.assert(
    fc.property(almostLabel, (record) => {
      fromRecord(record);
      fromRecord(JSON.parse(JSON.stringify(record)) as Record<string, unknown>);
    }),
    { seed: 0x5eed_b001, numRuns: 1000 },
  );
});

test('arbitrary objects (dates, big integers, maps, null prototypes) as label records give a label event or LABEL_INVALID', () => {
  fc.assert(
    fc.property(fc.dictionary(key, fc.anything({ key, maxDepth: 2, withBigInt: true, withDate: true, withMap: true, withSet: true, withNullPrototype: true, withBoxedValues: true }), { maxKeys: 8 }), (record) => fromRecord(record)),
    { seed: 0x5eed_b002, numRuns: 500 },
  );
  assertPrototypeClean();
});

const place = { sourceId: 'labels', partition: 'labels-0' };
const labelJson = Value.Default(ValueOptions, { format: 'json', content: 'label' }) as ValueOptions;
const message = (value: Buffer): KafkaInputMessage => ({ topic: 'labels', partition: 0, offset: 3, key: null, value, headers: { source: 'fuzz' }, timestamp: NOW });
const KAFKA_CODES: readonly ErrorCode[] = ['KAFKA_VALUE_INVALID', 'LABEL_INVALID'];

test('JSON label messages (random JSON, random bytes, almost-right records) give an input with its label or a typed data error', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.oneof(
        fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? '')),
        fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        almostLabel.map((r) => Buffer.from(JSON.stringify(r))),
        fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)),
      ),
      async (value) => {
        let event: LabelEvent | undefined;
        await typedOutcome(
          async () => {
            const init = await decodeInput(message(value), place, labelJson, undefined);
            assert.ok(init.annotation !== undefined, 'a label message that reads has an annotation');
            event = { inputId: init.id, annotation: init.annotation };
          },
          KAFKA_CODES,
          () => describe(value),
        );
        if (event !== undefined) assertBounded(event, value);
      },
    ),
    { seed: 0x5eed_b003, numRuns: 600 },
  );
});

test('a JSON label message with `__proto__` and `constructor` keys is read without touching Object.prototype', async () => {
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.jsonValue({ maxDepth: 2 }), async (name, payload) => {
      const json = `{"${name}": ${JSON.stringify({ polluted: payload, origin: 'kafka', label: 'x' })}, "inputId": "in-1", "label": "horse"}`;
      const init = await decodeInput(message(Buffer.from(json)), place, labelJson, undefined);
      assert.equal(init.annotation?.label, 'horse');
      assert.equal(init.annotation?.origin, 'kafka');
    }),
    { seed: 0x5eed_b004, numRuns: 50 },
  );
  assertPrototypeClean();
});

// Label Studio: annotations as the tasks API returns them, read by the client and turned into label events.

/** Mostly a value of the right shape, sometimes one of the wrong type. */
const mostly = <T>(right: fc.Arbitrary<T>): fc.Arbitrary<unknown> => fc.oneof({ weight: 4, arbitrary: right }, { weight: 1, arbitrary: wrong });

const studioResult = fc.oneof(
  fc.record(
    {
      from_name: fc.constantFrom('label', 'newClass', 'other'),
      type: fc.constantFrom('choices', 'textarea'),
      value: mostly(fc.oneof(fc.record({ choices: mostly(fc.array(mostly(text), { maxLength: 3 })) }, { requiredKeys: [] }), fc.record({ text: mostly(fc.oneof(fc.array(mostly(text), { maxLength: 2 }), text)) }, { requiredKeys: [] }))),
    },
    { requiredKeys: [] },
  ),
  fc.constant({ from_name: 'label', type: 'choices', value: { choices: ['other / new class'] } }),
  fc.jsonValue({ maxDepth: 2 }),
);
const studioAnnotation = fc.record(
  { id: mostly(fc.nat()), completed_by: mostly(fc.nat()), updated_at: mostly(time.map(String)), was_cancelled: mostly(fc.boolean()), result: mostly(fc.array(studioResult, { maxLength: 4 })) },
  { requiredKeys: [] },
);
const studioTask = fc.record(
  {
    id: mostly(fc.nat()),
    updated_at: mostly(time.map(String)),
    data: mostly(fc.record({ inputId: mostly(text), strategy: mostly(fc.oneof(fc.constantFrom(...SELECTION_STRATEGIES), text)), image: text }, { requiredKeys: [] })),
    annotations: mostly(fc.array(fc.oneof({ weight: 4, arbitrary: studioAnnotation }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
/** The body of an answer to the tasks query: shaped like one, any JSON, or no JSON at all. */
const tasksAnswer = fc.oneof(
  { weight: 4, arbitrary: fc.record({ tasks: mostly(fc.array(fc.oneof({ weight: 4, arbitrary: studioTask }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }), { maxLength: 4 })) }, { requiredKeys: [] }).map((a) => JSON.stringify(a)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: fc.constantFrom('null', '[]', '""', '0', 'true', '{"tasks": null}', '{"tasks": [null]}', '{"tasks": [{"id": 1, "updated_at": "x", "annotations": [{"id": 2, "result": [null]}]}]}', '<html>', '{') },
);

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

const client = new LabelStudioClient({ url: 'http://label-studio.invalid', token: 't0k3n', tokenType: 'legacy', timeoutMs: 1000, errorCode: 'LABEL_STUDIO_UNAVAILABLE' });

/** What `label-studio-source` does with one answer: read the tasks, then make a label event of each annotation that is not cancelled. */
async function readAnswer(body: string): Promise<void> {
  globalThis.fetch = async () => new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
  let tasks: LabelStudioTaskRecord[] = [];
  await typedOutcome(async () => (tasks = await client.listChangedTasks(1, 0, 100)), ['LABEL_STUDIO_UNAVAILABLE'], () => describe(body));
  for (const task of tasks) {
    for (const annotation of task.annotations) {
      if (annotation.wasCancelled) continue;
      let event: LabelEvent | undefined;
      typedOutcomeSync(() => (event = labelFromLabelStudio(task, annotation)), INVALID, () => `${describe(task)} / ${describe(annotation)}`);
      if (event !== undefined) assertBounded(event, annotation);
    }
  }
}

test('any answer of the Label Studio tasks API gives label events, LABEL_INVALID per annotation, or LABEL_STUDIO_UNAVAILABLE', async () => {
  await fc.assert(
    fc.asyncProperty(tasksAnswer, async (body) => readAnswer(body)),
    { seed: 0x5eed_b005, numRuns: 600 },
  );
  assertPrototypeClean();
});

test('Label Studio annotations as typed (any result entries, choices and new class names) give a label event or LABEL_INVALID', () => {
  const annotation = fc.record({
    id: fc.nat(),
    completedBy: fc.option(fc.nat(), { nil: null }),
    updatedAt: time.map(String),
    wasCancelled: fc.constant(false),
    result: fc.array(studioResult.filter((r) => typeof r === 'object' && r !== null && !Array.isArray(r)).map((r) => r as Record<string, unknown>), { maxLength: 4 }),
  });
  const task = fc.record({ id: fc.nat(), updatedAt: fc.constant('2026-01-01T00:00:00Z'), data: fc.record({ inputId: fc.oneof(text, wrong), strategy: fc.oneof(text, wrong) }, { requiredKeys: [] }), annotations: fc.constant([]) });
  fc.assert(
    fc.property(task, annotation, (t: LabelStudioTaskRecord, a: LabelStudioAnnotation) => {
      let event: LabelEvent | undefined;
      typedOutcomeSync(() => (event = labelFromLabelStudio(t, a)), INVALID, () => `${describe(t)} / ${describe(a)}`);
      if (event !== undefined) assertBounded(event, a);
    }),
    { seed: 0x5eed_b006, numRuns: 800 },
  );
});

test('found by fuzzing: a tasks answer of `null` reads as no tasks (it was a TypeError)', async () => {
  globalThis.fetch = async () => new Response('null', { status: 200 });
  assert.deepEqual(await client.listChangedTasks(1, 0, 100), []);
});

test('found by fuzzing: a `null` result entry of an annotation is skipped, so the annotation is LABEL_INVALID (it was a TypeError)', async () => {
  globalThis.fetch = async () => new Response(JSON.stringify({ tasks: [{ id: 0, updated_at: '0', annotations: [{ id: 0, result: [null] }] }] }), { status: 200 });
  const [task] = await client.listChangedTasks(1, 0, 100);
  assert.ok(task !== undefined && task.annotations[0] !== undefined);
  assert.deepEqual(task.annotations[0].result, []);
  assert.throws(() => labelFromLabelStudio(task, task.annotations[0]!), (e: unknown) => e instanceof CentaurError && e.code === 'LABEL_INVALID' && /no single choice/.test(e.message));
  globalThis.fetch = async () => new Response(JSON.stringify({ tasks: [{ id: 0, updated_at: '0', data: { inputId: 'in-1' }, annotations: [{ id: 0, result: [null, { from_name: 'label', type: 'choices', value: { choices: ['horse'] } }] }] }] }), { status: 200 });
  const [good] = await client.listChangedTasks(1, 0, 100);
  assert.equal(labelFromLabelStudio(good!, good!.annotations[0]!).annotation.label, 'horse');
});
