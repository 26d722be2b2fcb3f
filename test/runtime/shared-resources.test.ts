/**
 * Shared resources: what one node provides, a node downstream takes — within its own run only (two
 * runs of the same topology in one process never meet), and a need nobody provides is a
 * validation error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Type } from '@sinclair/typebox';
import { defineSink, defineSource } from '../../src/core/component.js';
import type { ResourceKey } from '../../src/core/component.js';
import { ConfigError } from '../../src/core/errors.js';
import { createLogger } from '../../src/core/logger.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { fakeComponents, useProbe } from '../helpers/fake-components.js';

const TOKEN: ResourceKey<{ readonly owner: string }> = { name: 'token' };
const seen: { sink: string; token: string | undefined }[] = [];

const tokenSource = defineSource({
  kind: 'token-source',
  role: 'source',
  description: 'Test source that provides a token.',
  stability: 'experimental',
  options: Type.Object({ owner: Type.String() }, { additionalProperties: false }),
  provides: () => ['token'],
  create: (o, ctx) => {
    ctx.shared?.provide(TOKEN, { owner: o.owner });
    return { start: async () => undefined, pause: () => undefined, resume: () => undefined, commit: async () => undefined, stop: async () => undefined };
  },
});

const tokenSink = defineSink({
  kind: 'token-sink',
  role: 'sink',
  description: 'Test sink that takes the token.',
  stability: 'experimental',
  options: Type.Object({ name: Type.String() }, { additionalProperties: false }),
  needs: () => [{ resource: 'token', problem: { path: [], message: 'needs a token-source' } }],
  create: (o, ctx) => {
    seen.push({ sink: o.name, token: ctx.shared?.take(TOKEN)?.owner });
    return { write: async () => undefined, flush: async () => undefined, close: async () => undefined };
  },
});

const components = [...fakeComponents, tokenSource, tokenSink];
const topology = (owner: string, sink: string) =>
  parseTopology(`version: 1\nname: same\ndeadLetter: dlq\nnodes:\n  src: { kind: token-source, owner: ${owner} }\n  out: { kind: token-sink, from: [src], name: ${sink} }\n  dlq: { kind: probe-sink, probe: shared }\n`, '/tmp/centaur-shared/t.yaml', { env: {}, components });

test('each run has its own resources, even for two runs of the same topology in one process', async () => {
  useProbe('shared');
  const logger = createLogger('silent');
  await Promise.all([new Runtime(topology('a', 'sink-a'), { logger }).run(), new Runtime(topology('b', 'sink-b'), { logger }).run()]);
  assert.deepEqual(seen.sort((x, y) => x.sink.localeCompare(y.sink)), [
    { sink: 'sink-a', token: 'a' },
    { sink: 'sink-b', token: 'b' },
  ]);
});

test('a need that no node of the topology provides is a validation error at the needing node', () => {
  assert.throws(
    () => parseTopology(`version: 1\nname: t\ndeadLetter: dlq\nnodes:\n  src: { kind: counting-source, probe: shared }\n  out: { kind: token-sink, from: [src], name: x }\n  dlq: { kind: probe-sink, probe: shared }\n`, '/tmp/t.yaml', { env: {}, components }),
    (error: unknown) => error instanceof ConfigError && error.issues.some((i) => i.node === 'out' && i.line === 6 && i.message === 'needs a token-source'),
  );
});
