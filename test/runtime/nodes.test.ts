/** Nodes: created through the registry in order; without a dead-letter node, the `dead-letter` sink's defaults beside the file; all closed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/core/logger.js';
import { CentaurError } from '../../src/core/errors.js';
import { CentaurMetrics } from '../../src/observability/metrics.js';
import { Nodes } from '../../src/runtime/nodes.js';
import { parseTopology } from '../../src/topology/load.js';
import { fakeComponents, useProbe } from '../helpers/fake-components.js';

const logger = createLogger('silent');

test('without a dead-letter node, failed inputs go to out/<name>/dead-letters-*.jsonl beside the topology', async () => {
  useProbe('nodes');
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-nodes-'));
  const t = parseTopology(`version: 1\nname: cams\nnodes:\n  src: { kind: counting-source, probe: nodes, count: 1 }\n  out: { kind: probe-sink, from: [src], probe: nodes }\n`, path.join(dir, 'topo.yaml'), { env: {}, components: fakeComponents });
  const metrics = new CentaurMetrics(t.name, '0', [], { inFlight: () => ({ count: 0, bytes: 0, peakCount: 0, peakBytes: 0, paused: false }), ready: () => true, running: () => true, totals: () => ({ inputs: 0, completed: 0, predictions: 0, deadLetters: 0, correct: 0, labelled: 0 }) });
  const nodes = await Nodes.create(t, logger, metrics);
  assert.deepEqual([...nodes.instances.keys()], ['src', 'out']);
  assert.equal(nodes.sources().length, 1);
  const envelope = { id: 'x', eventTime: 0, position: { source: 'src', partition: 'p0', offset: 0 }, payload: { kind: 'bytes' as const, bytes: Buffer.from('x') }, sizeBytes: 1, metadata: {}, receivedAt: 0, timings: {}, delivery: { acknowledge: () => undefined, deadLettered: () => undefined } };
  await nodes.deadLetterSink.writeDeadLetters([{ envelope, node: 'src', error: new CentaurError('INPUT_READ_FAILED', 'unreadable'), time: 0 }]);
  await nodes.close();
  const files = await readdir(path.join(dir, 'out', 'cams'));
  assert.equal(files.length, 1);
  assert.match(files[0] ?? '', /^dead-letters-.*\.jsonl$/);
  assert.match(await readFile(path.join(dir, 'out', 'cams', files[0] ?? ''), 'utf8'), /INPUT_READ_FAILED/);
});
