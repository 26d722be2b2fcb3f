/**
 * What the kserve backend reports to Prometheus about its server: each retry, by error code, and
 * the circuit breaker opening when the server keeps failing (an in-process HTTP server that is
 * stopped after the start).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CentaurError } from '../../src/core/errors.js';
import { createKserveBackend } from '../../src/inference/kserve-backend.js';
import { recordingMetrics } from '../helpers/recording-metrics.js';
import { startFakeHttpServer, tinyFakeModel, tinyManifest } from './fake-triton.js';

const tiny = await tinyManifest();

test('a server lost after the start: every retry is counted with its code, and the circuit opening is reported once', async () => {
  const { metrics, counters, gauges } = recordingMetrics();
  const server = await startFakeHttpServer(tinyFakeModel());
  const backend = await createKserveBackend(tiny, { kind: 'kserve', protocol: 'http', endpoint: server.address, retries: 5, timeoutMs: 2_000 }, { nodeId: 'infer', metrics });
  try {
    const batch = { data: new Float32Array(4 * 4 * 3).fill(2), shape: [1, 4, 4, 3] as [number, number, number, number], layout: 'NHWC' as const, release: () => {} };
    assert.deepEqual(Array.from((await backend.run(batch)).probabilities), [2, 0]);
    assert.deepEqual([[...counters], [...gauges]], [[], []], 'nothing to report while the server answers');
    await server.close();
    await assert.rejects(backend.run(batch), (error: CentaurError) => error.code === 'INFERENCE_SERVER_UNAVAILABLE');
    // Six attempts: five failures open the circuit, the sixth is refused by it; five retries in all.
    assert.deepEqual([...counters], [[`centaur_inference_server_retries_total{server=${server.address},code=INFERENCE_SERVER_UNAVAILABLE}`, 5]]);
    assert.deepEqual([...gauges], [[`centaur_inference_server_circuit_open{server=${server.address}}`, 1]]);
  } finally {
    await backend.close();
  }
});
