/**
 * The shared labelling budget against a real Redis: two instances of `select-for-labelling` with one
 * `perHour` bucket pick no more than it holds between them; an input read again (a restarted
 * instance re-reading its window) keeps its pick without spending another label; with Redis away a
 * window gets no picks and its inputs are dropped, never failed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { Value } from '@sinclair/typebox/value';
import type { Envelope } from '../../src/core/envelope.js';
import { SharedBudget } from '../../src/labelling/shared-budget.js';
import { createSelectForLabelling, SelectForLabellingOptions } from '../../src/operators/select-for-labelling.js';
import { predictedEnvelope } from '../helpers/envelopes.js';
import { REDIS_URL, requireRedis, uniqueNamespace } from '../helpers/redis.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const options = Value.Default(SelectForLabellingOptions, { window: { size: 50 }, budget: { perWindow: 8, perHour: 10 }, explorationShare: 0.25, seed: 3 }) as never;

function inputs(prefix: string): Envelope[] {
  return Array.from({ length: 50 }, (_, i) => predictedEnvelope(`${prefix}-${i}`, { eventTime: i, position: { source: 's', partition: '0', offset: i } }, 0.5 + ((i * 37) % 50) / 100));
}

/** Runs one window through an instance; resolves with the picked ids and the dropped ones. */
async function window(budget: SharedBudget, envelopes: readonly Envelope[], warnings: Error[] = []): Promise<{ picked: string[]; dropped: string[] }> {
  const operator = createSelectForLabelling(options, undefined, Date.now, undefined, { budget, warn: (e) => warnings.push(e) });
  const input = new Subject<Envelope>();
  const picked: string[] = [];
  const dropped: string[] = [];
  const done = new Promise<void>((resolve) => {
    operator.apply(input, { nodeId: 'select', scheduler: new VirtualTimeScheduler(), fail: () => assert.fail('nothing fails'), drop: (e) => dropped.push(e.id) }).subscribe({ next: (e) => picked.push((e as Envelope).id), complete: resolve });
  });
  for (const e of envelopes) input.next(e);
  input.complete();
  await done;
  return { picked, dropped };
}

test('two instances share one perHour bucket; an input read again keeps its pick without spending', async (t) => {
  if (!(await requireRedis(t))) return;
  const key = uniqueNamespace('centaur:labelling:test');
  const open = async (url = REDIS_URL) => {
    const budget = new SharedBudget({ url, key, perHour: 10, grantTtlSeconds: 600, timeoutMs: 2000 });
    await budget.connect();
    return budget;
  };
  const a = await open();
  const b = await open();
  try {
    const [first, second] = await Promise.all([window(a, inputs('a')), window(b, inputs('b'))]);
    t.diagnostic(`instance a picked ${first.picked.length}, instance b ${second.picked.length}`);
    assert.equal(first.picked.length + second.picked.length, 10, 'both wanted 8; the shared bucket held 10');
    assert.equal(first.picked.length + first.dropped.length, 50, 'every input picked or dropped');

    // A restarted instance reads its window again: the same picks come back, no label spent.
    const again = await window(a, inputs('a'));
    assert.deepEqual(again.picked.sort(), first.picked.sort());
    const fresh = await window(b, inputs('c'));
    assert.deepEqual(fresh.picked, [], 'the bucket is still empty: the repeat spent nothing');
  } finally {
    await a.close();
    await b.close();
  }
});

test('with the budget\'s Redis away a window gets no picks and its inputs are dropped, not failed', async (t) => {
  if (!(await requireRedis(t))) return;
  const target = new URL(REDIS_URL);
  const proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
  const budget = new SharedBudget({ url: `redis://127.0.0.1:${proxy.port}`, key: uniqueNamespace('centaur:labelling:down'), perHour: 10, grantTtlSeconds: 600, timeoutMs: 500 });
  await budget.connect();
  try {
    await proxy.cut();
    const warnings: Error[] = [];
    const outcome = await window(budget, inputs('d'), warnings);
    assert.deepEqual(outcome.picked, []);
    assert.equal(outcome.dropped.length, 50);
    assert.equal(warnings.length, 1, 'the failure reaches the log');
  } finally {
    await budget.close();
    await proxy.close();
  }
});
