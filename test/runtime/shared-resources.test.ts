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
  examples: [{ title: 'A test component', options: {} }],
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
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({ name: Type.String() }, { additionalProperties: false }),
  needs: () => [{ resource: 'token', problem: { path: [], message: 'needs a token-source' } }],
  create: (o, ctx) => {
    seen.push({ sink: o.name, token: ctx.shared?.take(TOKEN)?.owner });
    return { write: async () => undefined, flush: async () => undefined, close: async () => undefined };
  },
});

const tokenDeadLetters = defineSink({
  kind: 'token-dead-letters',
  role: 'sink',
  description: 'Test dead-letter sink that takes the token.',
  stability: 'experimental',
  takesDeadLetters: true,
  examples: [{ title: 'A test component', options: {} }],
  options: Type.Object({}, { additionalProperties: false }),
  needs: () => [{ resource: 'token', problem: { path: [], message: 'needs a token-source' } }],
  create: (_o, ctx) => {
    seen.push({ sink: 'dead-letters', token: ctx.shared?.take(TOKEN)?.owner });
    return { write: async () => undefined, writeDeadLetters: async () => undefined, flush: async () => undefined, close: async () => undefined };
  },
});

const components = [...fakeComponents, tokenSource, tokenSink, tokenDeadLetters];
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

test('a provider is created before the nodes that take from it, even a dead-letter sink declared first', async () => {
  seen.length = 0;
  const t = parseTopology(`version: 1\nname: t\ndeadLetter: dlq\nnodes:\n  dlq: { kind: token-dead-letters }\n  src: { kind: token-source, owner: first }\n  out: { kind: token-sink, from: [src], name: out }\n`, '/tmp/centaur-shared/t.yaml', { env: {}, components });
  assert.equal(t.order[0], 'dlq', 'the dead-letter sink comes first in topological order');
  await new Runtime(t, { logger: createLogger('silent') }).run();
  assert.deepEqual(seen.sort((x, y) => x.sink.localeCompare(y.sink)), [
    { sink: 'dead-letters', token: 'first' },
    { sink: 'out', token: 'first' },
  ]);
});

test('two providers of one resource are refused; a provider with invalid options hides no need behind a false error', () => {
  const issues = (yaml: string) => {
    try {
      parseTopology(yaml, '/tmp/t.yaml', { env: {}, components });
      return [];
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.issues.map((i) => `${i.node ?? ''}: ${i.message}`);
    }
  };
  const head = 'version: 1\nname: t\ndeadLetter: dlq\nnodes:\n  dlq: { kind: probe-sink, probe: shared }\n';
  assert.deepEqual(issues(`${head}  a: { kind: token-source, owner: a }\n  b: { kind: token-source, owner: b }\n  out: { kind: token-sink, from: [a, b], name: x }\n`), [
    'b: provides `token`, which node `a` provides already; a topology has one',
  ]);
  assert.deepEqual(issues(`${head}  a: { kind: token-source, ownr: a }\n  out: { kind: token-sink, from: [a], name: x }\n`).filter((m) => m.startsWith('out')), []);
});
