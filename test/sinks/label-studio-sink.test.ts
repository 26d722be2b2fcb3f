/**
 * `label-studio-sink`'s refusals, decided before any request: an input not picked for labelling, a
 * local image with no `localFilesRoot` or outside it (or at its root), an invalid file URI, an inline
 * image above `maxInlineBytes`. Each becomes a dead letter with its reason; none reaches the server
 * (the URL here answers nothing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Value } from '@sinclair/typebox/value';
import type { Envelope } from '../../src/core/envelope.js';
import { labelStudioSink } from '../../src/sinks/label-studio-sink.js';
import { createLogger } from '../../src/core/logger.js';
import { predictedEnvelope } from '../helpers/envelopes.js';

function envelope(uri: string | undefined, picked = true, bytes = Buffer.alloc(10)): Envelope {
  return predictedEnvelope(`in-${uri ?? 'none'}`, {
    position: { source: 's', partition: '0', offset: 0, ...(uri === undefined ? {} : { uri }) },
    payload: { kind: 'bytes', bytes },
    sizeBytes: bytes.length,
    ...(picked ? { labelling: { strategy: 'uncertainty', method: 'margin', uncertainty: 0.8, node: 'select', window: 0 } } : {}),
  });
}

async function sink(options: Record<string, unknown>): Promise<ReturnType<typeof labelStudioSink.create>> {
  const filled = Value.Default(labelStudioSink.options, { url: 'http://127.0.0.1:9', token: 'secret-token', ...options }) as never;
  return labelStudioSink.create(filled, { nodeId: 'tasks', topologyName: 't', baseDir: '/srv/topology', logger: createLogger('silent') });
}

test('inputs that cannot become tasks are refused one by one, with a reason, before any request', async () => {
  const uriSink = await sink({ image: 'uri', localFilesRoot: '/data/images' });
  const cases: [Envelope, RegExp][] = [
    [envelope('/data/images/cam1/a.jpg', false), /not picked for labelling/],
    [envelope('/elsewhere/a.jpg'), /outside `localFilesRoot`/],
    [envelope('/data/images/a.jpg'), /must be in a folder under `localFilesRoot`/],
    [envelope('file://host/share/a.jpg'), /not a local path/],
    [envelope(undefined), /no URI to show/],
  ];
  const rejections = (await uriSink.write(cases.map(([e]) => e))) ?? [];
  assert.equal(rejections.length, cases.length, 'every one refused, none sent');
  cases.forEach(([e, reason], i) => {
    assert.equal(rejections[i]!.envelope, e);
    assert.match(rejections[i]!.error.message, reason);
    assert.ok(!rejections[i]!.error.message.includes('secret-token'));
  });
  const noRoot = await sink({ image: 'uri' });
  assert.match(((await noRoot.write([envelope('/data/images/cam1/a.jpg')])) ?? [])[0]!.error.message, /needs `localFilesRoot`/);
  const inline = await sink({ image: 'inline', maxInlineBytes: 5 });
  assert.match(((await inline.write([envelope(undefined, true, Buffer.alloc(6))])) ?? [])[0]!.error.message, /above maxInlineBytes 5/);
});
