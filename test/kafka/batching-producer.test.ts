/** BatchingProducer: concurrent writes share produce requests, and each learns its own outcome. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BatchingProducer } from '../../src/kafka/batching-producer.js';
import type { KafkaOutputMessage } from '../../src/kafka/client.js';
import type { CentaurError } from '../../src/core/errors.js';

const msg = (n: number): KafkaOutputMessage => ({ key: String(n), value: Buffer.from(String(n)), headers: {} });

test('writes within the linger time go out as one request, in order', async () => {
  const requests: string[][] = [];
  const producer = new BatchingProducer('t', async (_topic, messages) => void requests.push(messages.map((m) => String(m.key))), 100, 20);
  await Promise.all([producer.produce([msg(1), msg(2)]), producer.produce([msg(3)]), producer.produce([msg(4)])]);
  assert.deepEqual(requests, [['1', '2', '3', '4']]);
});

test('a full batch goes out at once without waiting for the linger time', async () => {
  const requests: number[] = [];
  const producer = new BatchingProducer('t', async (_topic, messages) => void requests.push(messages.length), 3, 60000);
  const started = Date.now();
  await Promise.all([producer.produce([msg(1), msg(2)]), producer.produce([msg(3)])]);
  assert.deepEqual(requests, [3]);
  assert.ok(Date.now() - started < 5000);
});

test('a failed request rejects every write it carried with a retriable error; later writes are unaffected', async () => {
  let calls = 0;
  const producer = new BatchingProducer(
    't',
    async () => {
      calls += 1;
      if (calls === 1) throw new Error('broker down');
    },
    10,
    5,
  );
  const first = await Promise.allSettled([producer.produce([msg(1)]), producer.produce([msg(2)])]);
  for (const r of first) {
    assert.equal(r.status, 'rejected');
    const error = (r).reason as CentaurError;
    assert.equal(error.code, 'KAFKA_UNAVAILABLE');
    assert.equal(error.retriable, true);
  }
  await producer.produce([msg(3)]);
  assert.equal(calls, 2);
});

test('flush sends what waits and waits for requests in flight', async () => {
  let sent = 0;
  const producer = new BatchingProducer('t', async (_topic, messages) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    sent += messages.length;
  }, 100, 60000);
  const pending = producer.produce([msg(1), msg(2)]);
  await producer.flush();
  assert.equal(sent, 2);
  await pending;
});

test('requests stay within maxBatchBytes: a write that would overflow goes into the next request', async () => {
  const requests: number[] = [];
  const big = (n: number): KafkaOutputMessage => ({ key: null, value: Buffer.alloc(400, n), headers: {} });
  const producer = new BatchingProducer('t', async (_topic, messages) => void requests.push(messages.reduce((s, m) => s + m.value.length, 0)), 1000, 10, 1000);
  await Promise.all([producer.produce([big(1)]), producer.produce([big(2)]), producer.produce([big(3)]), producer.produce([big(4)])]);
  assert.deepEqual(requests, [800, 800]);
});
