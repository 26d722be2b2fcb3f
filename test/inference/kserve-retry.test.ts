import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CentaurError } from '../../src/core/errors.js';
import { callPolicy, callWithPolicy } from '../../src/inference/kserve/call-policy.js';
import { grpcError, httpError, isServerTrouble, timeoutError, transportError } from '../../src/inference/kserve/classify.js';
import { createHttpKserveClient } from '../../src/inference/kserve/http-client.js';

const W = 'KServe server test: infer m';

/** Asserts an error's code, category and retry policy. */
function expectError(error: CentaurError, code: string, retriable: boolean): void {
  assert.equal(error.code, code, error.message);
  assert.equal(error.retriable, retriable, error.message);
}

test('HTTP answers: 400 about the input is a data error; 5xx, 404, 408, 429 are retriable', () => {
  const invalid = httpError(W, 400, 'input `input` has shape [2, 112, 224, 3]');
  expectError(invalid, 'INFERENCE_REQUEST_INVALID', false);
  assert.equal(invalid.category, 'data');
  assert.match(invalid.message, /HTTP 400: input `input` has shape/);
  expectError(httpError(W, 422, 'bad datatype'), 'INFERENCE_REQUEST_INVALID', false);
  expectError(httpError(W, 413, 'too large'), 'INFERENCE_REQUEST_INVALID', false);
  for (const status of [404, 408, 429, 500, 502, 503, 504]) {
    const error = httpError(W, status, '');
    expectError(error, 'INFERENCE_SERVER_UNAVAILABLE', true);
    assert.equal(error.category, 'infrastructure');
  }
  // Triton and MLServer answer a missing or loading model with 400: that is the server's state, not the data.
  expectError(httpError(W, 400, 'Model horse-or-human is not ready yet.'), 'INFERENCE_SERVER_UNAVAILABLE', true);
  expectError(httpError(W, 400, "Request for unknown model: 'x' is not found"), 'INFERENCE_SERVER_UNAVAILABLE', true);
  expectError(httpError(W, 401, 'no token'), 'INFERENCE_FAILED', false);
});

test('gRPC statuses: INVALID_ARGUMENT is a data error; UNAVAILABLE and friends are retriable', () => {
  expectError(grpcError(W, 3, 'input `input` has shape [1]'), 'INFERENCE_REQUEST_INVALID', false);
  expectError(grpcError(W, 11, 'index out of range'), 'INFERENCE_REQUEST_INVALID', false);
  expectError(grpcError(W, 3, 'Model m is not ready yet.'), 'INFERENCE_SERVER_UNAVAILABLE', true);
  for (const code of [14, 4, 13, 2, 5, 10, 8]) expectError(grpcError(W, code, 'trouble'), 'INFERENCE_SERVER_UNAVAILABLE', true);
  const tooLarge = grpcError(W, 8, 'Received message larger than max (40000000 vs. 4194304)');
  expectError(tooLarge, 'INFERENCE_FAILED', false);
  assert.match(tooLarge.message, /maxMessageBytes/);
  for (const code of [12, 16, 7, 9]) expectError(grpcError(W, code, 'no'), 'INFERENCE_FAILED', false);
  assert.match(grpcError(W, 14, 'No connection established').message, /gRPC UNAVAILABLE: No connection established/);
});

test('transport failures are retriable, except an address the client cannot use', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  expectError(transportError(W, refused), 'INFERENCE_SERVER_UNAVAILABLE', true);
  expectError(transportError(W, Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })), 'INFERENCE_SERVER_UNAVAILABLE', true);
  expectError(transportError(W, timeoutError(50)), 'INFERENCE_SERVER_UNAVAILABLE', true);
  assert.match(transportError(W, timeoutError(50)).message, /no answer within 50 ms/);
  expectError(transportError(W, Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL' })), 'INFERENCE_FAILED', false);
  const coded = new CentaurError('INFERENCE_REQUEST_INVALID', 'as is');
  assert.equal(transportError(W, coded), coded);
  assert.equal(isServerTrouble(transportError(W, refused)), true);
  assert.equal(isServerTrouble(httpError(W, 400, 'bad')), false);
});

test('the policy retries the server trouble with backoff, then says how many attempts it made', async () => {
  const policy = callPolicy({ retry: { attempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, breaker: { failureThreshold: 100 } });
  const retries: number[] = [];
  let calls = 0;
  await assert.rejects(
    callWithPolicy({ ...policy, onRetry: (_e, attempt) => retries.push(attempt) }, W, async () => {
      calls += 1;
      throw httpError(W, 503, 'busy');
    }),
    (error: CentaurError) => {
      expectError(error, 'INFERENCE_SERVER_UNAVAILABLE', true);
      assert.match(error.message, /HTTP 503: busy \(gave up after 3 attempts\)/);
      return true;
    },
  );
  assert.equal(calls, 3);
  assert.deepEqual(retries, [1, 2]);

  calls = 0;
  const value = await callWithPolicy(policy, W, async () => {
    calls += 1;
    if (calls < 3) throw transportError(W, Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }));
    return 'answer';
  });
  assert.equal(value, 'answer');
  assert.equal(calls, 3);
});

test('the policy does not retry a data error, and it does not count against the breaker', async () => {
  const policy = callPolicy({ retry: { attempts: 5, baseDelayMs: 1 }, breaker: { failureThreshold: 1 } });
  let calls = 0;
  for (let i = 0; i < 3; i += 1) {
    await assert.rejects(
      callWithPolicy(policy, W, async () => {
        calls += 1;
        throw httpError(W, 400, 'bad shape');
      }),
      (error: CentaurError) => error.code === 'INFERENCE_REQUEST_INVALID' && !/gave up/.test(error.message),
    );
  }
  assert.equal(calls, 3);
  assert.equal(policy.breaker.state, 'closed');
});

test('an open circuit fails fast, without calling the server, with a retriable error', async () => {
  const policy = callPolicy({ retry: { attempts: 1 }, breaker: { failureThreshold: 2, coolDownMs: 60_000 } });
  let calls = 0;
  const failing = async (): Promise<never> => {
    calls += 1;
    throw grpcError(W, 14, 'down');
  };
  await assert.rejects(callWithPolicy(policy, W, failing));
  await assert.rejects(callWithPolicy(policy, W, failing));
  assert.equal(policy.breaker.state, 'open');
  await assert.rejects(callWithPolicy(policy, W, failing), (error: CentaurError) => {
    expectError(error, 'INFERENCE_SERVER_UNAVAILABLE', true);
    assert.match(error.message, /circuit open after 2 consecutive failures; next try in \d+ ms/);
    return true;
  });
  assert.equal(calls, 2);
});

/** A local HTTP server answering each request with `answer(n)` (n counts from 1), recording what came in. */
async function fakeServer(
  answer: (n: number, request: { headers: http.IncomingHttpHeaders; body: Buffer }) => { status: number; headers?: Record<string, string | number>; body: Buffer },
): Promise<{ url: string; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      n += 1;
      const out = answer(n, { headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(out.status, { 'content-length': out.body.length, ...(out.headers ?? {}) });
      res.end(out.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('the HTTP client frames binary tensors, retries a 503, and reads binary outputs', async () => {
  const seen: { header: Record<string, unknown>; binary: Buffer }[] = [];
  const server = await fakeServer((n, request) => {
    const headerLength = Number(request.headers['inference-header-content-length']);
    seen.push({ header: JSON.parse(request.body.subarray(0, headerLength).toString()) as Record<string, unknown>, binary: request.body.subarray(headerLength) });
    if (n < 3) return { status: 503, body: Buffer.from(JSON.stringify({ error: 'warming up' })) };
    const probabilities = Buffer.from(new Float32Array([0.25, 0.75]).buffer);
    const header = Buffer.from(
      JSON.stringify({
        model_name: 'm',
        model_version: '1',
        id: 'r1',
        parameters: { compute_ms: 1.5 },
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: probabilities.length } },
          { name: 'label', datatype: 'INT64', shape: [1], data: [7] },
        ],
      }),
    );
    return {
      status: 200,
      headers: { 'inference-header-content-length': header.length, 'content-type': 'application/octet-stream' },
      body: Buffer.concat([header, probabilities]),
    };
  });
  const client = createHttpKserveClient({ url: server.url, retry: { attempts: 4, baseDelayMs: 1 } });
  try {
    const input = new Float32Array([1, 2, 3, 4, 5, 6]);
    const response = await client.infer({ model: 'm', version: '1', id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2, 3], data: input }], outputs: ['probabilities', 'label'] });
    assert.equal(seen.length, 3);
    const last = seen[2] as { header: Record<string, unknown>; binary: Buffer };
    assert.deepEqual(last.header, {
      id: 'r1',
      inputs: [{ name: 'x', shape: [1, 2, 3], datatype: 'FP32', parameters: { binary_data_size: 24 } }],
      outputs: [
        { name: 'probabilities', parameters: { binary_data: true } },
        { name: 'label', parameters: { binary_data: true } },
      ],
    });
    assert.deepEqual(Array.from(new Float32Array(last.binary.buffer.slice(last.binary.byteOffset, last.binary.byteOffset + 24))), Array.from(input));
    assert.deepEqual(response.parameters, { compute_ms: 1.5 });
    assert.equal(response.id, 'r1');
    const [probabilities, label] = response.outputs;
    assert.deepEqual(Array.from(probabilities?.data as Float32Array), [0.25, 0.75]);
    assert.deepEqual(probabilities?.shape, [1, 2]);
    assert.deepEqual(Array.from(label?.data as BigInt64Array), [7n]);
  } finally {
    await client.close();
    await server.close();
  }
});

test('the HTTP client turns a connection refused into a retriable error after its retries', async () => {
  const server = await fakeServer(() => ({ status: 200, body: Buffer.alloc(0) }));
  const { url } = server;
  await server.close();
  const client = createHttpKserveClient({ url, retry: { attempts: 3, baseDelayMs: 1 } });
  try {
    assert.equal(await client.live(), false);
    await assert.rejects(client.modelMetadata('m'), (error: CentaurError) => {
      expectError(error, 'INFERENCE_SERVER_UNAVAILABLE', true);
      assert.match(error.message, /ECONNREFUSED.*gave up after 3 attempts/);
      return true;
    });
  } finally {
    await client.close();
  }
});

test('the HTTP client gives up on a server that does not answer in time', async () => {
  const server = http.createServer(() => {
    // Never answers.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = createHttpKserveClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 50, retry: { attempts: 2, baseDelayMs: 1 } });
  try {
    await assert.rejects(client.serverMetadata(), /no answer within 50 ms \(gave up after 2 attempts\)/);
  } finally {
    await client.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
