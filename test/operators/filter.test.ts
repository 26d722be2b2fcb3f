import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { asyncScheduler, from, lastValueFrom, map, toArray } from 'rxjs';
import { defineOperator } from '../../src/core/component.js';
import type { OperatorContext } from '../../src/core/component.js';
import { envelopesOf, isBatch } from '../../src/core/envelope.js';
import type { Batch, Envelope, Item } from '../../src/core/envelope.js';
import { ConfigError } from '../../src/core/errors.js';
import type { ConfigIssue } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { createFilter, filter } from '../../src/operators/filter.js';
import type { FilterOptions } from '../../src/operators/filter.js';
import { Runtime } from '../../src/runtime/runtime.js';
import type { RunSummary } from '../../src/runtime/run-summary.js';
import { parseTopology } from '../../src/topology/load.js';
import { fakeComponents, useProbe } from '../helpers/fake-components.js';
import type { Probe } from '../helpers/fake-components.js';

const logger = createLogger('silent');

/**
 * Gives input n what later stages and sources would: a label (horse on even n), metadata `camera`
 * (`cam-<n mod 3>`, even n only), image features (width 100 + n, png when n mod 4 = 0, brightness
 * n / 20), and a prediction on n < 8 (confidence n / 10, a cache hit when n mod 3 = 0).
 */
const annotate = defineOperator({
  kind: 'annotate',
  role: 'operator',
  description: 'Test operator.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({}, { additionalProperties: false }),
  create: () => ({
    accepts: 'envelope',
    apply: (input) =>
      input.pipe(
        map((item): Item => {
          const e = item as Envelope;
          const n = e.position.offset;
          const out: Envelope = { ...e, label: n % 2 === 0 ? 'horse' : 'human', metadata: n % 2 === 0 ? { camera: `cam-${n % 3}` } : {} };
          out.image = { width: 100 + n, height: 50, format: n % 4 === 0 ? 'png' : 'jpeg', brightness: n / 20, contrast: 0.1, sharpness: 0.01 };
          if (n < 8) out.prediction = { label: n % 2 === 0 ? 'horse' : 'human', classIndex: n % 2, confidence: n / 10, probabilities: [1 - n / 10, n / 10], ...(n % 3 === 0 ? { cached: true as const } : {}) };
          return out;
        }),
      ),
  }),
});

const components = [...fakeComponents, annotate, filter];
const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

function topology(yaml: string): ReturnType<typeof parseTopology> {
  return parseTopology(`version: 1\nname: t\ndeadLetter: dlq\n${yaml}`, '/tmp/centaur-filter-test/topo.yaml', { env: {}, components });
}

interface Outcome {
  readonly kept: number[];
  readonly summary: RunSummary;
  readonly probe: Probe;
  readonly runtime: Runtime;
}

/** Runs `count` inputs through annotate → filter (`options`, flow-mapping YAML) → one sink. */
async function runFilter(name: string, options: string, count = 12): Promise<Outcome> {
  const probe = useProbe(name);
  const t = topology(`nodes:
  src: { kind: counting-source, probe: ${name}, count: ${count} }
  tag: { kind: annotate, from: [src] }
  keep: { kind: filter, from: [tag], ${options} }
  out: { kind: probe-sink, from: [keep], probe: ${name} }
  dlq: { kind: probe-sink, probe: ${name} }
`);
  const runtime = new Runtime(t, { logger });
  const summary = await runtime.run();
  const kept = (probe.written.get('out') ?? []).map((e) => e.position.offset).sort((a, b) => a - b);
  return { kept, summary, probe, runtime };
}

/** Every input is done and committed, none is a dead letter. */
function assertAllDone({ summary, probe }: Outcome, count = 12): void {
  assert.equal(summary.inputs, count);
  assert.equal(summary.completed, count, 'dropped inputs count as completed');
  assert.equal(summary.deadLetters, 0);
  assert.equal(summary.unfinished, 0);
  assert.deepEqual(probe.deadLetters, [], 'no dropped input reaches the dead-letter sink');
  assert.deepEqual(probe.commits.at(-1), { partition: 'p0', offset: count - 1 }, 'the commit covers dropped inputs');
}

test('kept envelopes reach the sink; dropped ones are done, committed, and not dead letters', async () => {
  const outcome = await runFilter('range', 'field: position.offset, gte: 3, lt: 7');
  assert.deepEqual(outcome.kept, [3, 4, 5, 6]);
  assertAllDone(outcome);
  const counters = outcome.runtime.nodeCounters().get('keep');
  assert.deepEqual(counters, { received: 12, sent: 4, failed: 0 }, 'dropped = received − sent − failed');
});

test('inputs dropped after the last kept one are committed too, and a filter that keeps nothing still completes the run', async () => {
  const none = await runFilter('none', 'field: id, equals: nobody');
  assert.deepEqual(none.kept, []);
  assertAllDone(none);
  const head = await runFilter('head', 'field: position.offset, lt: 2');
  assert.deepEqual(head.kept, [0, 1]);
  assertAllDone(head);
});

test('each condition, on each kind of field', async () => {
  const cases: [string, string, number[]][] = [
    ['equals a string', 'field: label, equals: horse', [0, 2, 4, 6, 8, 10]],
    ['equals metadata', 'field: metadata.camera, equals: cam-0', [0, 6]],
    ['equals a number', 'field: image.width, equals: 105', [5]],
    ['equals a boolean', 'field: prediction.cached, equals: true', [0, 3, 6]],
    ['in', 'field: metadata.camera, in: [cam-1, cam-2]', [2, 4, 8, 10]],
    ['in numbers', 'field: position.offset, in: [1, 11, 40]', [1, 11]],
    ['matches', "field: image.format, matches: '^pn'", [0, 4, 8]],
    ['matches metadata', "field: metadata.camera, matches: '[12]$'", [2, 4, 8, 10]],
    ['gte', 'field: prediction.confidence, gte: 0.5', [5, 6, 7]],
    ['gt', 'field: image.brightness, gt: 0.5', [11]],
    ['lte', 'field: prediction.classIndex, lte: 0', [0, 2, 4, 6]],
    ['a range', 'field: prediction.confidence, gt: 0.1, lte: 0.3', [2, 3]],
  ];
  for (const [name, options, expected] of cases) {
    const outcome = await runFilter(`condition-${name}`, options);
    assert.deepEqual(outcome.kept, expected, name);
    assertAllDone(outcome);
  }
});

test('negate keeps what the condition rejects', async () => {
  const outcome = await runFilter('negate', 'field: label, equals: horse, negate: true');
  assert.deepEqual(outcome.kept, [1, 3, 5, 7, 9, 11]);
  assertAllDone(outcome);
  const numbers = await runFilter('negate-range', 'field: position.offset, gte: 2, lte: 9, negate: true');
  assert.deepEqual(numbers.kept, [0, 1, 10, 11]);
});

test('missing: envelopes without the field are dropped by default, kept with `keep`, whatever `negate` says', async () => {
  // Odd inputs have no camera, inputs 8 and later no prediction.
  assert.deepEqual((await runFilter('missing-drop', 'field: metadata.camera, equals: cam-0')).kept, [0, 6]);
  assert.deepEqual((await runFilter('missing-drop-negate', 'field: metadata.camera, equals: cam-0, negate: true')).kept, [2, 4, 8, 10]);
  const keep = await runFilter('missing-keep', 'field: metadata.camera, equals: cam-0, missing: keep');
  assert.deepEqual(keep.kept, [0, 1, 3, 5, 6, 7, 9, 11]);
  assertAllDone(keep);
  assert.deepEqual((await runFilter('missing-keep-negate', 'field: prediction.confidence, lt: 0.5, negate: true, missing: keep')).kept, [5, 6, 7, 8, 9, 10, 11]);
});

test('fan-out: a drop settles every path through the filter, and only those', async () => {
  const probe = useProbe('fanout');
  const t = topology(`nodes:
  src: { kind: counting-source, probe: fanout, count: 30 }
  op: { kind: fail-some, from: [src], every: 10 }
  keep: { kind: filter, from: [op], field: position.offset, in: [1, 2, 3, 11, 21, 29] }
  a: { kind: probe-sink, from: [keep], probe: fanout, delayMs: 1 }
  b: { kind: probe-sink, from: [keep], probe: fanout }
  all: { kind: probe-sink, from: [src], probe: fanout, delayMs: 1 }
  dlq: { kind: probe-sink, probe: fanout }
`);
  const summary = await new Runtime(t, { logger }).run();
  const offsets = (sink: string): number[] => (probe.written.get(sink) ?? []).map((e) => e.position.offset).sort((x, y) => x - y);
  assert.deepEqual(offsets('a'), [1, 2, 3, 11, 21, 29]);
  assert.deepEqual(offsets('b'), [1, 2, 3, 11, 21, 29]);
  assert.deepEqual(offsets('all'), range(0, 30));
  // 0, 10 and 20 fail before the filter: dead letters; the drops are not.
  assert.deepEqual(probe.deadLetters.map((d) => d.envelope.position.offset).sort((x, y) => x - y), [0, 10, 20]);
  assert.equal(summary.deadLetters, 3);
  assert.equal(summary.completed, 27);
  assert.equal(summary.unfinished, 0);
  assert.deepEqual(probe.commits.at(-1), { partition: 'p0', offset: 29 });
});

test('batches: kept whole with their tensor; partly dropped, the tensor is released and the rest go on without it', async () => {
  const released: string[] = [];
  const batchOf = (name: string, offsets: number[]): Batch => ({
    kind: 'batch',
    envelopes: offsets.map((offset) => envelope({ position: { source: 's', partition: '0', offset } })),
    tensor: { data: new Float32Array(4), shape: [offsets.length, 1, 1, 1], layout: 'NHWC', release: () => released.push(name) },
  });
  const dropped: number[] = [];
  const ctx: OperatorContext = { nodeId: 'keep', scheduler: asyncScheduler, fail: () => assert.fail('nothing fails'), drop: (e) => dropped.push(e.position.offset) };
  const operator = createFilter(options({ field: 'position.offset', lt: 10 }));
  const whole = batchOf('whole', [1, 2]);
  const out = await lastValueFrom(operator.apply(from<Item[]>([whole, batchOf('part', [3, 12, 4]), batchOf('none', [20, 21])]), ctx).pipe(toArray()));
  assert.equal(out.length, 2);
  assert.equal(out[0], whole, 'a batch kept whole goes on as it is');
  const part = out[1] as Batch;
  assert.ok(isBatch(part));
  assert.equal(part.tensor, null);
  assert.deepEqual(part.envelopes.map((e) => e.position.offset), [3, 4]);
  assert.deepEqual(released, ['part', 'none']);
  assert.deepEqual(dropped, [12, 20, 21]);
  assert.ok(out.flatMap(envelopesOf).every((e) => e.timings.keep !== undefined), 'kept envelopes carry the node’s timing');
});

test('outside a runtime (no ctx.drop) a dropped envelope is simply not emitted', async () => {
  const ctx: OperatorContext = { nodeId: 'keep', scheduler: asyncScheduler, fail: () => assert.fail('nothing fails') };
  const operator = createFilter(options({ field: 'label', in: ['horse'] }));
  const out = await lastValueFrom(operator.apply(from<Item[]>([envelope({ label: 'horse' }), envelope({ label: 'human' }), envelope()]), ctx).pipe(toArray()));
  assert.deepEqual(out.flatMap(envelopesOf).map((e) => e.label), ['horse']);
});

test('`matches` is compiled once, and reads only strings', () => {
  const operator = createFilter(options({ field: 'key', matches: '^user-[0-9]+$' }));
  assert.equal(operator.keeps(envelope({ key: 'user-42' })), true);
  assert.equal(operator.keeps(envelope({ key: 'user-42x' })), false);
  assert.equal(operator.keeps(envelope()), false, 'no key: missing, dropped');
  assert.throws(() => createFilter(options({ field: 'key', matches: '(' })), /not a regular expression/);
});

test('configuration mistakes are reported by parseTopology in one pass, each at its option, with a fix', () => {
  const nodes: Record<string, string> = {
    typo: 'field: prediction.confidance, gte: 0.5',
    root: 'field: meta.camera, equals: a',
    bare: 'field: metadata, equals: a',
    nothing: 'field: label',
    two: 'field: label, equals: horse, matches: "^h"',
    regex: 'field: label, matches: "(unclosed"',
    numeric: 'field: label, gte: 3',
    metaNumber: 'field: metadata.camera, lt: 3',
    quote: 'field: metadata.camera, equals: 7',
    inTypes: 'field: image.width, in: [100, "101"]',
    stringMatch: 'field: image.width, matches: "^1"',
    bounds: 'field: image.width, gte: 1, gt: 2',
    empty: 'field: image.width, gte: 10, lte: 5',
    long: `field: label, matches: "${'a'.repeat(300)}"`,
    noMissing: 'field: label, equals: a, missing: ignore',
  };
  const yaml = `version: 1
name: t
nodes:
  src: { kind: counting-source, probe: config }
${Object.entries(nodes)
  .map(([id, options]) => `  ${id}: { kind: filter, from: [src], ${options} }\n  ${id}Out: { kind: probe-sink, from: [${id}], probe: config }`)
  .join('\n')}
`;
  let issues: readonly ConfigIssue[] = [];
  try {
    parseTopology(yaml, '/tmp/centaur-filter-test/topo.yaml', { env: {}, components });
    assert.fail('the topology is invalid');
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    issues = error.issues;
  }
  const of = (node: string): ConfigIssue[] => issues.filter((i) => i.node === node);
  const one = (node: string, message: RegExp, suggestion?: RegExp): ConfigIssue => {
    const found = of(node).find((i) => message.test(i.message));
    assert.ok(found, `${node}: expected ${String(message)} in ${JSON.stringify(of(node))}`);
    if (suggestion !== undefined) assert.match(found.suggestion ?? '', suggestion, node);
    return found;
  };
  const line = (id: string): number => yaml.split('\n').findIndex((l) => l.startsWith(`  ${id}:`)) + 1;

  assert.equal(one('typo', /unknown field `prediction\.confidance`/, /did you mean `prediction\.confidence`/).line, line('typo'));
  one('root', /unknown field `meta\.camera`/, /did you mean `metadata\.camera`/);
  one('bare', /`metadata` needs the name of a key/, /metadata\.<name>/);
  one('nothing', /needs a condition/, /`equals`, `in`, `matches`/);
  one('two', /exactly one condition, but `equals` and `matches`/, /chain a second `filter`/);
  one('regex', /not a regular expression/);
  one('numeric', /`gte` compares numbers, but `label` is a string/);
  one('metaNumber', /`lt` compares numbers, but `metadata\.camera` is a string/, /metadata values are strings/);
  one('quote', /`metadata\.camera` is a string, but 7 is a number/, /quote it: "7"/);
  one('inTypes', /`image\.width` is a number, but "101" is a string/, /without quotes: 101/);
  one('stringMatch', /`matches` tests strings, but `image\.width` is a number/);
  one('bounds', /`gte` and `gt` are both given/);
  one('empty', /the range is empty/);
  one('long', /256/);
  one('noMissing', /missing/);
  for (const id of Object.keys(nodes)) assert.ok(of(id).length >= 1, `${id} is reported`);
  assert.equal(of('nothing').length, 1, 'no condition is one problem, not one per condition');
});

test('valid options load with defaults filled in', () => {
  const t = topology(`nodes:
  src: { kind: counting-source, probe: defaults }
  keep: { kind: filter, from: [src], field: metadata.trace-id.part, matches: "^a" }
  out: { kind: probe-sink, from: [keep], probe: defaults }
  dlq: { kind: probe-sink, probe: defaults }
`);
  assert.deepEqual(t.nodes.get('keep')?.options, { field: 'metadata.trace-id.part', matches: '^a', negate: false, missing: 'drop' });
  const operator = createFilter(t.nodes.get('keep')?.options as FilterOptions);
  assert.equal(operator.keeps(envelope({ metadata: { 'trace-id.part': 'abc' } })), true, 'a metadata name may hold dots');
});

/** Options with the schema's defaults. */
function options(o: Partial<FilterOptions> & { field: string }): FilterOptions {
  return { negate: false, missing: 'drop', ...o };
}

function envelope(extra: Partial<Envelope> = {}): Envelope {
  return {
    id: 'one',
    eventTime: 0,
    position: { source: 's', partition: '0', offset: 0 },
    payload: { kind: 'bytes', bytes: Buffer.alloc(1) },
    sizeBytes: 1,
    metadata: {},
    receivedAt: 0,
    timings: {},
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    ...extra,
  };
}
