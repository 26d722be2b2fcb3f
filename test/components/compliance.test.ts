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

/** Per kind: the fewest options it needs (in `dir`), and the one input an operator gets. */
const fixtures: Record<string, { options: (dir: string) => Record<string, unknown>; input?: () => Item }> = {
  'files-source': { options: () => ({ path: 'images' }) },
  'decode-image': { options: () => ({}), input: () => envelope() },
  'micro-batch': { options: () => ({ maxDelayMs: 1 }), input: () => envelope({ tensor: tinyTensor }) },
  infer: { options: () => ({ model: { path: path.resolve('test/fixtures/tiny-model') } }), input: () => envelope({ tensor: tinyTensor }) },
  'files-sink': { options: () => ({ dir: 'out' }) },
  'stdout-sink': { options: () => ({ every: 1000000 }) },
  'dead-letter': { options: () => ({ dir: 'dlq' }) },
};

test('every registered kind has a compliance fixture, and kinds are named by role', () => {
  for (const spec of allComponents) {
    assert.ok(fixtures[spec.kind], `add a compliance fixture for \`${spec.kind}\``);
    if (spec.role === 'source') assert.match(spec.kind, /-source$/);
    if (spec.role === 'sink') assert.match(spec.kind, /-sink$|^dead-letter$/);
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

  test(`${spec.kind}: created from defaults, handles one input without losing it, closes`, async () => {
    const dir = await mkdtemp(path.join(tmpdir(), `centaur-compliance-${spec.kind}-`));
    await mkdir(path.join(dir, 'images'));
    await writeFile(path.join(dir, 'images', 'one.jpg'), jpeg);
    const fixture = fixtures[spec.kind];
    assert.ok(fixture);
    const options = fixture.options(dir);
    assert.ok(ajv.validate(spec.options, options), JSON.stringify(ajv.errors));
    const ctx = { nodeId: 'node', topologyName: 'compliance', baseDir: dir, logger };
    await exercise(spec, options, ctx, fixture.input);
  });
}

async function exercise(spec: ComponentSpec, options: Record<string, unknown>, ctx: { nodeId: string; topologyName: string; baseDir: string; logger: typeof logger }, input?: () => Item): Promise<void> {
  if (spec.role === 'source') {
    const source: Source = await spec.create(options, ctx);
    const emitted: EnvelopeInit[] = [];
    await source.start({ emit: (e) => emitted.push(e), fail: () => assert.fail('the source failed its only input') });
    assert.equal(emitted.length, 1);
    await source.commit(emitted[0]?.position.partition ?? '', emitted[0]?.position.offset ?? 0);
    await source.stop();
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
    if (sink.writeDeadLetters !== undefined && spec.kind === 'dead-letter') {
      await sink.writeDeadLetters([{ envelope: envelope(), node: 'n', error: new CentaurError('IMAGE_DECODE_FAILED', 'x'), time: Date.now() }]);
    } else {
      await sink.write([envelope({ prediction: { label: 'a', classIndex: 0, confidence: 1, probabilities: [1] } })]);
    }
    await sink.flush(true);
    await sink.close();
  }
}
