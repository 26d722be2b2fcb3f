import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { filesSink } from '../../src/sinks/files-sink.js';
import { deadLetter } from '../../src/sinks/dead-letter.js';
import { formatLine } from '../../src/sinks/stdout-sink.js';
import type { Sink, SinkSpec } from '../../src/core/component.js';
import type { Envelope } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';

const ajv = new Ajv({ useDefaults: true, strict: false });

async function create(spec: SinkSpec, options: Record<string, unknown>, baseDir: string): Promise<Sink> {
  const o = { ...options };
  assert.ok(ajv.validate(spec.options, o));
  return spec.create(o, { nodeId: 'out', topologyName: 't', baseDir, logger: createLogger('silent') });
}

function envelope(i: number, withPrediction = true): Envelope {
  return {
    id: `img-${i}.jpg`,
    eventTime: Date.UTC(2026, 0, 1),
    position: { source: 'files', partition: 'files', offset: i, uri: `file:///data/img-${i}.jpg` },
    payload: { kind: 'bytes', bytes: Buffer.from([1, 2, 3]) },
    sizeBytes: 3,
    metadata: { path: `img-${i}.jpg` },
    label: 'horse',
    receivedAt: 0,
    timings: { decode: 1.5, infer: 3.25 },
    ...(withPrediction ? { prediction: { label: 'horse', classIndex: 0, confidence: 0.9, probabilities: [0.9, 0.1] }, model: { name: 'm', version: '1', classes: ['horse', 'human'] }, embedding: new Float32Array([0.5, 0.25]) } : {}),
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
  };
}

test('files-sink writes one JSON record per prediction and rotates by size', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-sink-'));
  const sink = await create(filesSink, { dir: 'out', prefix: 'p', maxFileBytes: 1000, includeEmbedding: true }, dir);
  for (let i = 0; i < 10; i += 1) await sink.write([envelope(i)]);
  await sink.close();
  const files = (await readdir(path.join(dir, 'out'))).sort();
  assert.ok(files.length > 1, `rotated into ${files.length} files`);
  assert.ok(files.every((f) => /^p-\d{6}\.jsonl$/.test(f)));
  const records = (await Promise.all(files.map((f) => readFile(path.join(dir, 'out', f), 'utf8')))).join('').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(records.length, 10);
  assert.deepEqual(records[0], {
    id: 'img-0.jpg',
    eventTime: '2026-01-01T00:00:00.000Z',
    source: { node: 'files', partition: 'files', offset: 0, uri: 'file:///data/img-0.jpg' },
    label: 'horse',
    prediction: { label: 'horse', classIndex: 0, confidence: 0.9, probabilities: { horse: 0.9, human: 0.1 } },
    model: { name: 'm', version: '1' },
    embedding: [0.5, 0.25],
    timingsMs: { decode: 1.5, infer: 3.25 },
    metadata: { path: 'img-0.jpg' },
  });
});

test('files-sink never overwrites the files of an earlier run', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-sink-'));
  for (let run = 0; run < 2; run += 1) {
    const sink = await create(filesSink, { dir: '.', prefix: 'p' }, dir);
    await sink.write([envelope(run)]);
    await sink.close();
  }
  assert.deepEqual((await readdir(dir)).sort(), ['p-000001.jsonl', 'p-000002.jsonl']);
});

test('dead-letter writes the node, error class, code and message and the original reference', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-dlq-'));
  const sink = await create(deadLetter, { dir: '.' }, dir);
  const error = new CentaurError('IMAGE_DECODE_FAILED', 'not an image', { cause: new Error('VipsJpeg: premature end') });
  await sink.writeDeadLetters?.([{ envelope: envelope(7, false), node: 'decode', error, time: Date.UTC(2026, 0, 2) }]);
  const noUri = { ...envelope(8, false), position: { source: 'k', partition: '0', offset: 8 } };
  await sink.writeDeadLetters?.([{ envelope: noUri, node: 'decode', error, time: Date.UTC(2026, 0, 2) }]);
  await sink.close();
  const lines = (await readFile(path.join(dir, 'dead-letters-000001.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(lines[0], {
    time: '2026-01-02T00:00:00.000Z',
    id: 'img-7.jpg',
    node: 'decode',
    error: { code: 'IMAGE_DECODE_FAILED', name: 'CentaurError', message: 'not an image', retriable: false, cause: 'VipsJpeg: premature end' },
    source: { node: 'files', partition: 'files', offset: 7, uri: 'file:///data/img-7.jpg' },
    label: 'horse',
    payload: { uri: 'file:///data/img-7.jpg' },
    metadata: { path: 'img-7.jpg' },
  });
  assert.deepEqual(lines[1]?.payload, { base64: Buffer.from([1, 2, 3]).toString('base64') }, 'bytes kept when there is no reference');
  await assert.rejects(sink.write([envelope(1)]), /only takes failed inputs/);
});

test('dead-letter names an object fetch-object read instead of copying its bytes (the event that named it is untrusted); always copies them when asked', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-dlq-'));
  const fetched = { ...envelope(9, false), position: { source: 'uploads', partition: '0', offset: 9 }, fetchedFrom: 's3://uploads/secret-report.pdf' };
  const error = new CentaurError('IMAGE_FORMAT_REFUSED', 'pdf is not an allowed format');
  for (const includePayload of ['auto', 'always'] as const) {
    const sink = await create(deadLetter, { dir: includePayload, includePayload }, dir);
    await sink.writeDeadLetters?.([{ envelope: fetched, node: 'decode', error, time: Date.UTC(2026, 0, 2) }]);
    await sink.close();
  }
  const first = async (sub: string): Promise<Record<string, unknown>> =>
    JSON.parse((await readFile(path.join(dir, sub, 'dead-letters-000001.jsonl'), 'utf8')).trim()) as Record<string, unknown>;
  assert.deepEqual((await first('auto')).payload, { uri: 's3://uploads/secret-report.pdf' });
  assert.deepEqual((await first('always')).payload, { base64: Buffer.from([1, 2, 3]).toString('base64') });
});

test('stdout-sink lines show the file, the class, the confidence and the label check', () => {
  const line = formatLine(envelope(3));
  assert.match(line, /^img-3\.jpg\s+→ horse\s+90\.0%\s+label horse ✓\s+decode 1\.5ms infer 3\.3ms$/);
});
