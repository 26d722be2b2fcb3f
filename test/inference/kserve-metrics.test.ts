/**
 * What the kserve backend reports to Prometheus about its server: each retry, by error code, and
 * the circuit breaker opening when the server keeps failing (an in-process HTTP server that is
 * stopped after the start).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CentaurError } from '../../src/core/errors.js';
import { NO_METRICS } from '../../src/core/node-metrics.js';
import type { NodeMetrics } from '../../src/core/node-metrics.js';
import { createKserveBackend } from '../../src/inference/kserve-backend.js';
import { startFakeHttpServer, tinyFakeModel, tinyManifest } from './fake-triton.js';

const tiny = await tinyManifest();

test('a server lost after the start: every retry is counted with its code, and the circuit opening is reported once', async () => {
  const retries: { server: string; code: string }[] = [];
  const circuit: { server: string; open: boolean }[] = [];
  const metrics: NodeMetrics = {
    ...NO_METRICS,
    inferenceServerRetry: (server, code) => retries.push({ server, code }),
    inferenceServerCircuit: (server, open) => circuit.push({ server, open }),
  };
  const server = await startFakeHttpServer(tinyFakeModel());
  const backend = await createKserveBackend(tiny, { kind: 'kserve', protocol: 'http', endpoint: server.address, retries: 5, timeoutMs: 2_000 }, { nodeId: 'infer', metrics });
  try {
    const batch = { data: new Float32Array(4 * 4 * 3).fill(2), shape: [1, 4, 4, 3] as [number, number, number, number], layout: 'NHWC' as const, release: () => {} };
    assert.deepEqual(Array.from((await backend.run(batch)).probabilities), [2, 0]);
    assert.deepEqual([retries, circuit], [[], []], 'nothing to report while the server answers');
    await server.close();
    await assert.rejects(backend.run(batch), (error: CentaurError) => error.code === 'INFERENCE_SERVER_UNAVAILABLE');
    // Six attempts: five failures open the circuit, the sixth is refused by it; five retries in all.
    assert.equal(retries.length, 5);
    assert.ok(retries.every((r) => r.server === server.address && r.code === 'INFERENCE_SERVER_UNAVAILABLE'), JSON.stringify(retries));
    assert.deepEqual(circuit, [{ server: server.address, open: true }]);
  } finally {
    await backend.close();
  }
});
