/**
 * `backend.tls` of the kserve backend against in-process servers that speak TLS with the test CA
 * in test/fixtures/tls (see its README): gRPC (health and metadata through grpc-js, inference
 * through the client's own HTTP/2 caller or grpc-js) and HTTPS, server certificates checked
 * against `caFile`, client certificates for a server that asks for one, and clear configuration
 * errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { BatchTensor } from '../../src/core/envelope.js';
import { CentaurError } from '../../src/core/errors.js';
import type { KserveBackendOptions } from '../../src/inference/backend.js';
import { createKserveBackend } from '../../src/inference/kserve-backend.js';
import { startFakeGrpcServer, startFakeHttpServer, tinyFakeModel, tinyManifest } from './fake-triton.js';
import type { FakeServer, FakeTls } from './fake-triton.js';

const TLS_DIR = path.resolve('test/fixtures/tls');
const [CA, SERVER_CERT, SERVER_KEY] = await Promise.all(['ca.pem', 'server.pem', 'server.key'].map((f) => readFile(path.join(TLS_DIR, f))));
const SERVER: FakeTls = { cert: SERVER_CERT as Buffer, key: SERVER_KEY as Buffer };
const MUTUAL: FakeTls = { ...SERVER, clientCa: CA };

const tiny = await tinyManifest();
const PER_IMAGE = 4 * 4 * 3;

const MODEL = tinyFakeModel();

const TRANSPORTS = [
  { label: 'gRPC', protocol: 'grpc', start: startFakeGrpcServer },
  { label: 'gRPC (infer via grpc-js)', protocol: 'grpc', grpcInfer: 'grpc-js', start: startFakeGrpcServer },
  { label: 'HTTPS', protocol: 'http', start: startFakeHttpServer },
] as const;

/** Two tiny images filled with 3 and 5. */
function batch(): BatchTensor {
  const data = new Float32Array(2 * PER_IMAGE);
  data.fill(3, 0, PER_IMAGE);
  data.fill(5, PER_IMAGE);
  return { data, shape: [2, 4, 4, 3], layout: 'NHWC', release: () => {} };
}

/** The backend's start error for `options`, which must be a CentaurError. */
async function startError(options: KserveBackendOptions): Promise<CentaurError> {
  const error = await createKserveBackend(tiny, options, { nodeId: 'infer', baseDir: TLS_DIR }).then(
    async (backend) => {
      await backend.close();
      return assert.fail('the backend should not have started');
    },
    (e: unknown) => e,
  );
  assert.ok(error instanceof CentaurError, String(error));
  return error;
}

for (const transport of TRANSPORTS) {
  const options = (server: FakeServer, tls: KserveBackendOptions['tls']): KserveBackendOptions => ({
    kind: 'kserve',
    protocol: transport.protocol,
    endpoint: server.address,
    retries: 0,
    timeoutMs: 5_000,
    ...('grpcInfer' in transport ? { grpcInfer: transport.grpcInfer } : {}),
    ...(tls === undefined ? {} : { tls }),
  });

  test(`${transport.label}: the server certificate is checked against caFile, and inference runs over TLS`, async (t) => {
    const server = await transport.start(MODEL, SERVER);
    t.after(() => server.close());
    const backend = await createKserveBackend(tiny, options(server, { caFile: 'ca.pem' }), { nodeId: 'infer', baseDir: TLS_DIR });
    try {
      const out = await backend.run(batch());
      // The fake server answers row r with probabilities [its first value, r].
      assert.deepEqual(Array.from(out.probabilities), [3, 0, 5, 1]);
      assert.deepEqual(server.shapes, [[2, 4, 4, 3]]);
    } finally {
      await backend.close();
    }
    // The system CAs do not know the test CA: the server is not trusted, nothing is sent.
    const untrusted = await startError(options(server, {}));
    assert.equal(untrusted.code, 'INFERENCE_SERVER_UNAVAILABLE', untrusted.message);
    assert.match(untrusted.message, /cannot be reached .*certificate.*`backend.tls`/, 'the start error names the certificate problem');
    assert.equal(server.shapes.length, 1);
  });

  test(`${transport.label}: a server that asks for a client certificate gets certFile/keyFile, and refuses a client without one`, async (t) => {
    const server = await transport.start(MODEL, MUTUAL);
    t.after(() => server.close());
    const backend = await createKserveBackend(tiny, options(server, { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'client.key' }), {
      nodeId: 'infer',
      baseDir: TLS_DIR,
    });
    try {
      assert.deepEqual(Array.from((await backend.run(batch())).probabilities), [3, 0, 5, 1]);
    } finally {
      await backend.close();
    }
    const refused = await startError(options(server, { caFile: 'ca.pem' }));
    assert.equal(refused.code, 'INFERENCE_SERVER_UNAVAILABLE', refused.message);
    assert.equal(server.shapes.length, 1, 'the client without a certificate ran nothing');
  });
}

test('TLS settings that cannot work are configuration errors naming the setting', async () => {
  const base: KserveBackendOptions = { kind: 'kserve', endpoint: '127.0.0.1:1', retries: 0 };
  const halfPair = await startError({ ...base, tls: { certFile: 'client.pem' } });
  assert.equal(halfPair.code, 'CONFIG_INVALID');
  assert.match(halfPair.message, /^node `infer`: backend.tls needs both `certFile` and `keyFile`/);
  const missing = await startError({ ...base, tls: { caFile: 'no-such-ca.pem' } });
  assert.equal(missing.code, 'CONFIG_INVALID');
  assert.match(missing.message, new RegExp(`backend.tls.caFile ${path.join(TLS_DIR, 'no-such-ca.pem').replace(/[.]/g, '\\.')} cannot be read`));
  const wrongKey = await startError({ ...base, tls: { caFile: 'ca.pem', certFile: 'client.pem', keyFile: 'server.key' } });
  assert.equal(wrongKey.code, 'CONFIG_INVALID');
  assert.match(wrongKey.message, /^node `infer`: backend.tls \(ca\.pem, client\.pem, server\.key\) cannot be used: .*key values mismatch/);
  const notPem = await startError({ ...base, tls: { caFile: 'README.md' } });
  assert.equal(notPem.code, 'CONFIG_INVALID');
  assert.match(notPem.message, /^node `infer`: backend.tls \(README\.md\) cannot be used/);
  const plainUrl = await startError({ ...base, protocol: 'http', endpoint: 'http://127.0.0.1:1', tls: { caFile: 'ca.pem' } });
  assert.equal(plainUrl.code, 'CONFIG_INVALID');
  assert.match(plainUrl.message, /backend.tls is set but `http:\/\/127.0.0.1:1` is not an https:\/\/ URL/);
});
