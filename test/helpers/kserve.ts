/**
 * Access to the KServe v2 inference server started by `scripts/services/services.sh up` (MLServer
 * serving models/demo as `horse-or-human`): its addresses, and the same policy as the Kafka
 * helpers: without the server a test fails under CI=true and is skipped elsewhere, naming the
 * command to run.
 */
import type { TestContext } from 'node:test';

export const KSERVE_URL = process.env.CENTAUR_KSERVE_URL ?? 'http://127.0.0.1:8000';
export const KSERVE_GRPC = process.env.CENTAUR_KSERVE_GRPC ?? '127.0.0.1:8001';
/** The name the demo model is served under (test/fixtures/kserve/horse-or-human). */
export const KSERVE_MODEL = 'horse-or-human';

let reachable: Promise<string | undefined> | undefined;

/** Skips the test (or fails it under CI=true) when the inference server or its model is not ready. */
export async function requireKserve(t: TestContext): Promise<boolean> {
  reachable ??= (async () => {
    const url = `${KSERVE_URL}/v2/models/${KSERVE_MODEL}/ready`;
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!response.ok) return `KServe server at ${KSERVE_URL}: model ${KSERVE_MODEL} not ready (HTTP ${response.status})`;
    } catch (error) {
      return `KServe server at ${KSERVE_URL}: ${(error as Error).message}`;
    }
    return undefined;
  })();
  const problem = await reachable;
  if (problem === undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  }
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up kserve`);
  return false;
}
