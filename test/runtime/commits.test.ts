/** Commits: only offsets below which everything completed are committed, per partition, at the interval; a failed commit comes back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Commits } from '../../src/runtime/commits.js';
import type { PendingCommit } from '../../src/runtime/commits.js';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('commits the highest contiguous completed offset of each partition, once per interval', async () => {
  const done: PendingCommit[] = [];
  const commits = new Commits(5, async (c) => void done.push(c), () => assert.fail('no failure expected'));
  const epochs = [0, 1, 2, 3].map((offset) => commits.track('s', 'p0', offset));
  assert.deepEqual(epochs, [0, 0, 0, 0], 'one read of the partition');
  const p1 = commits.track('s', 'p1', 10);
  commits.completed('s', 'p0', 0, 1);
  commits.completed('s', 'p0', 0, 2);
  await tick(20);
  assert.deepEqual(done, [], 'offset 0 is not done: nothing is contiguous yet');
  commits.completed('s', 'p0', 0, 0);
  commits.completed('s', 'p1', p1, 10);
  await tick(20);
  assert.deepEqual(done, [
    { source: 's', partition: 'p0', offset: 2 },
    { source: 's', partition: 'p1', offset: 10 },
  ]);
  commits.completed('s', 'p0', 0, 3);
  await commits.flush();
  assert.deepEqual(done.at(-1), { source: 's', partition: 'p0', offset: 3 });
  commits.cancelTimer();
});

test('a failed commit, and those after it in the same round, are tried again at the next flush', async () => {
  const done: PendingCommit[] = [];
  let failNext = true;
  const commits = new Commits(60_000, async (c) => {
    if (failNext) {
      failNext = false;
      throw new Error('broker away');
    }
    done.push(c);
  }, () => undefined);
  for (const p of ['a', 'b']) commits.completed('s', p, commits.track('s', p, 0), 0);
  await assert.rejects(commits.flush(), /broker away/);
  assert.equal(done.length, 0);
  await commits.flush();
  assert.deepEqual(done.map((c) => c.partition).sort(), ['a', 'b'], 'neither partition lost its position');
  commits.cancelTimer();
});

test('a timed commit that failed is tried again on the next interval, though nothing else completes', async () => {
  const done: PendingCommit[] = [];
  let failures = 1;
  const reported: unknown[] = [];
  const commits = new Commits(5, async (c) => {
    if (failures > 0) {
      failures -= 1;
      throw new Error('broker away');
    }
    done.push(c);
  }, (error) => reported.push(error));
  commits.completed('s', 'idle', commits.track('s', 'idle', 0), 0);
  await tick(40);
  assert.equal(reported.length, 1);
  assert.deepEqual(done, [{ source: 's', partition: 'idle', offset: 0 }]);
  commits.cancelTimer();
});

test('a partition read again from an earlier offset: committed only where every offset completed in some read', async () => {
  const done: PendingCommit[] = [];
  const commits = new Commits(60_000, async (c) => void done.push(c), () => assert.fail('no failure expected'));
  const first = [0, 1, 2, 3, 4, 5].map((offset) => commits.track('s', 'p', offset));
  for (const offset of [0, 1]) commits.completed('s', 'p', first[offset] as number, offset);
  // A rebalance: the partition is read again from 2 while 2..5 of the first read are in flight.
  const again = [2, 3, 4, 5, 6].map((offset) => commits.track('s', 'p', offset));
  assert.ok(again.every((e) => e !== first[0]), 'the re-read is a new epoch');
  for (const [i, offset] of [2, 3, 4, 5, 6].entries()) commits.completed('s', 'p', again[i] as number, offset);
  await commits.flush();
  assert.deepEqual(done, [{ source: 's', partition: 'p', offset: 6 }], 'the re-read covers 2..6');
  for (const offset of [2, 3, 4, 5]) commits.completed('s', 'p', first[offset] as number, offset);
  await commits.flush();
  assert.equal(done.length, 1, 'the first read finishing later commits nothing new');
  commits.cancelTimer();
});
