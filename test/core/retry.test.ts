import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retry } from '../../src/core/retry.js';
import { CentaurError } from '../../src/core/errors.js';

test('retriable errors are retried until an attempt succeeds', async () => {
  let calls = 0;
  const value = await retry(
    async () => {
      calls += 1;
      if (calls < 3) throw new CentaurError('SINK_WRITE_FAILED', 'down');
      return 'ok';
    },
    { attempts: 5, baseDelayMs: 1, maxDelayMs: 2 },
  );
  assert.equal(value, 'ok');
  assert.equal(calls, 3);
});

test('an abort ends the backoff wait at once and throws the last error', async () => {
  const controller = new AbortController();
  let calls = 0;
  const started = Date.now();
  setTimeout(() => controller.abort(), 50);
  await assert.rejects(
    retry(
      async () => {
        calls += 1;
        throw new CentaurError('SINK_WRITE_FAILED', `down ${calls}`);
      },
      { attempts: 100, baseDelayMs: 60000, maxDelayMs: 60000, signal: controller.signal },
    ),
    /down/,
  );
  assert.ok(calls <= 2, `attempts after the abort: ${calls}`);
  assert.ok(Date.now() - started < 5000, 'did not wait out the backoff');
});
