/** Commits: only contiguous completed offsets are committed, per partition and epoch, at the interval; a failed commit comes back. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Commits } from '../../src/runtime/commits.js';
import type { PendingCommit } from '../../src/runtime/commits.js';

const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('commits the highest contiguous completed offset of each partition, once per interval', async () => {
  const done: PendingCommit[] = [];
  const commits = new Commits(5, async (c) => void done.push(c), () => assert.fail('no failure expected'));
  for (const offset of [0, 1, 2, 3]) commits.track('s', 'p0', undefined, offset);
  commits.track('s', 'p1', 7, 10);
  commits.completed('s', 'p0', undefined, 1);
  commits.completed('s', 'p0', undefined, 2);
  await tick(20);
  assert.deepEqual(done, [], 'offset 0 is not done: nothing is contiguous yet');
  commits.completed('s', 'p0', undefined, 0);
  commits.completed('s', 'p1', 7, 10);
  await tick(20);
  assert.deepEqual(done, [
    { source: 's', partition: 'p0', offset: 2, epoch: undefined },
    { source: 's', partition: 'p1', offset: 10, epoch: 7 },
  ]);
  commits.completed('s', 'p0', undefined, 3);
  await commits.flush();
  assert.deepEqual(done.at(-1), { source: 's', partition: 'p0', offset: 3, epoch: undefined });
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
  for (const p of ['a', 'b']) {
    commits.track('s', p, undefined, 0);
    commits.completed('s', p, undefined, 0);
  }
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
  commits.track('s', 'idle', undefined, 0);
  commits.completed('s', 'idle', undefined, 0);
  await tick(40);
  assert.equal(reported.length, 1);
  assert.deepEqual(done, [{ source: 's', partition: 'idle', offset: 0, epoch: undefined }]);
  commits.cancelTimer();
});
