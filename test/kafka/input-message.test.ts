/**
 * Reading Kafka messages into inputs, for the `json` and `bytes` formats (Avro is covered against
 * the real registry in the integration suite): fields, headers, times, and typed data errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import type { KafkaInputMessage } from '../../src/kafka/client.js';
import { decodeInput, ValueOptions } from '../../src/kafka/input-message.js';
import { CentaurError } from '../../src/core/errors.js';

const place = { sourceId: 'cams', partition: 'frames-2' };

function message(value: Buffer | null, headers: Record<string, string> = {}, key: string | null = 'cam-7'): KafkaInputMessage {
  return { topic: 'frames', partition: 2, offset: 41, key: key === null ? null : Buffer.from(key), value, headers, timestamp: 1_700_000_000_000 };
}

function options(extra: Record<string, unknown>): ValueOptions {
  return Value.Default(ValueOptions, Value.Clone(extra)) as ValueOptions;
}

async function fails(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => error instanceof CentaurError && error.code === code && error.category === 'data');
}

test('bytes: the value is the image; id, event time and label from headers; the key and position kept', async () => {
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 1, 2, 3]);
  const init = await decodeInput(message(jpeg, { id: 'frame-9', 'capture-time': '2026-01-02T03:04:05Z', label: 'horse', site: 'north' }), place, options({ format: 'bytes' }), undefined);
  assert.equal(init.id, 'frame-9');
  assert.equal(init.key, 'cam-7');
  assert.equal(init.eventTime, Date.parse('2026-01-02T03:04:05Z'));
  assert.equal(init.label, 'horse');
  assert.equal(init.metadata?.site, 'north');
  assert.deepEqual(init.payload, { kind: 'bytes', bytes: jpeg });
  assert.deepEqual(init.position, { source: 'cams', partition: 'frames-2', offset: 41, topic: 'frames' });
  assert.equal(init.original?.value, jpeg);
});

test('bytes: without headers the id is topic-partition-offset and the time is the message timestamp', async () => {
  const init = await decodeInput(message(Buffer.from('x'), {}, null), place, options({ format: 'bytes' }), undefined);
  assert.equal(init.id, 'frames-2-41');
  assert.equal(init.key, undefined);
  assert.equal(init.eventTime, 1_700_000_000_000);
});

test('json: an upload event becomes a reference with its id, time and metadata', async () => {
  const event = { uploadId: 'u-1', uri: 's3://lake/a.jpg', uploader: 'ana', uploadTime: 1_700_000_123_000, metadata: { album: 'farm' } };
  const init = await decodeInput(message(Buffer.from(JSON.stringify(event))), place, options({ format: 'json' }), undefined);
  assert.equal(init.id, 'u-1');
  assert.deepEqual(init.payload, { kind: 'reference', uri: 's3://lake/a.jpg' });
  assert.equal(init.eventTime, 1_700_000_123_000);
  assert.equal(init.metadata?.uploader, 'ana');
  assert.equal(init.metadata?.album, 'farm');
});

test('json: a base64 image field becomes bytes; configured field names win', async () => {
  const record = { ref: 'r-5', when: '1700000000999', picture: Buffer.from('img').toString('base64') };
  const init = await decodeInput(message(Buffer.from(JSON.stringify(record))), place, options({ format: 'json', imageField: 'picture', idField: 'ref', timeField: 'when' }), undefined);
  assert.equal(init.id, 'r-5');
  assert.equal(init.eventTime, 1_700_000_000_999);
  assert.deepEqual(init.payload, { kind: 'bytes', bytes: Buffer.from('img') });
});

test('data errors: empty value, invalid JSON, a list, no image or URI, a bad time', async () => {
  const json = options({ format: 'json' });
  await fails(decodeInput(message(null), place, json, undefined), 'KAFKA_VALUE_INVALID');
  await fails(decodeInput(message(Buffer.from('{not json')), place, json, undefined), 'KAFKA_VALUE_INVALID');
  await fails(decodeInput(message(Buffer.from('[1,2]')), place, json, undefined), 'KAFKA_VALUE_INVALID');
  await fails(decodeInput(message(Buffer.from('{"id":"x"}')), place, json, undefined), 'KAFKA_VALUE_INVALID');
  await fails(decodeInput(message(Buffer.from('{"uri":"file:///a","time":"yesterday"}')), place, json, undefined), 'KAFKA_VALUE_INVALID');
  await fails(decodeInput(message(Buffer.from('x'), { 'capture-time': 'soon' }), place, options({ format: 'bytes' }), undefined), 'KAFKA_VALUE_INVALID');
});

test('json label events: the envelope names the labelled input and carries the annotation; a malformed one is LABEL_INVALID', async () => {
  const value = Buffer.from(JSON.stringify({ inputId: 'cam-3/frame-1', label: 'dog', annotator: 'ann', labelTime: 1_700_000_500_000, selection: 'diversity' }));
  const init = await decodeInput(message(value), place, options({ format: 'json', content: 'label' }), undefined);
  assert.equal(init.id, 'cam-3/frame-1');
  assert.equal(init.eventTime, 1_700_000_500_000);
  assert.deepEqual(init.annotation, { label: 'dog', annotator: 'ann', origin: 'kafka', labelTime: 1_700_000_500_000, selection: 'diversity' });
  assert.equal(init.original?.value, value, 'the message is kept for the dead letter');
  await assert.rejects(
    decodeInput(message(Buffer.from(JSON.stringify({ inputId: 'x', label: '' }))), place, options({ format: 'json', content: 'label' }), undefined),
    (error: unknown) => error instanceof CentaurError && error.code === 'LABEL_INVALID',
  );
});
