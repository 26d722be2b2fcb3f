/** A stop asked for while the nodes are still being created (a slow model load): nothing is read. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { defineOperator } from '../../src/core/component.js';
import { createLogger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { fakeComponents, sleep, useProbe } from '../helpers/fake-components.js';

const slowStart = defineOperator({
  kind: 'slow-start',
  role: 'operator',
  description: 'Test operator that takes a while to create, as a model load does.',
  stability: 'experimental',
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({}, { additionalProperties: false }),
  create: async () => {
    await sleep(300);
    return { accepts: 'envelope', apply: (input) => input };
  },
});

test('stop() during node creation: the sources never read, the run ends with nothing in flight', async () => {
  const probe = useProbe('stop-at-start');
  const t = parseTopology(
    `version: 1\nname: t\ndeadLetter: dlq\nnodes:\n  src: { kind: counting-source, probe: stop-at-start, count: 50 }\n  slow: { kind: slow-start, from: [src] }\n  out: { kind: probe-sink, from: [slow], probe: stop-at-start }\n  dlq: { kind: probe-sink, probe: stop-at-start }\n`,
    '/tmp/centaur-stop/t.yaml',
    { env: {}, components: [...fakeComponents, slowStart] },
  );
  const runtime = new Runtime(t, { logger: createLogger('silent') });
  const done = runtime.run();
  await sleep(50);
  runtime.stop();
  const summary = await done;
  assert.equal(summary.inputs, 0);
  assert.equal(probe.written.get('out')?.length ?? 0, 0);
});
