/**
 * Access to the KServe v2 inference servers started by `scripts/services/services.sh up` (MLServer,
 * and NVIDIA Triton through PyTriton, each serving models/demo as `horse-or-human`): their addresses, and the same policy as the Kafka
 * helpers: without the server a test fails under CI=true and is skipped elsewhere, naming the
 * command to run.
 */
import type { TestContext } from 'node:test';

export const KSERVE_URL = process.env.CENTAUR_KSERVE_URL ?? 'http://127.0.0.1:8000';
export const KSERVE_GRPC = process.env.CENTAUR_KSERVE_GRPC ?? '127.0.0.1:8001';
/** The name the demo model is served under (test/fixtures/kserve/horse-or-human). */
export const KSERVE_MODEL = 'horse-or-human';

export const TRITON_URL = process.env.CENTAUR_TRITON_URL ?? 'http://127.0.0.1:8100';
export const TRITON_GRPC = process.env.CENTAUR_TRITON_GRPC ?? '127.0.0.1:8101';

const reachable = new Map<string, Promise<string | undefined>>();

/** Why the server at `url` cannot serve the demo model now, or undefined when it can. */
function problemOf(name: string, url: string): Promise<string | undefined> {
  let probe = reachable.get(url);
  if (probe === undefined) {
    probe = (async () => {
      try {
        const response = await fetch(`${url}/v2/models/${KSERVE_MODEL}/ready`, { signal: AbortSignal.timeout(5000) });
        if (!response.ok) return `${name} at ${url}: model ${KSERVE_MODEL} not ready (HTTP ${response.status})`;
      } catch (error) {
        return `${name} at ${url}: ${(error as Error).message}`;
      }
      return undefined;
    })();
    reachable.set(url, probe);
  }
  return probe;
}

async function requireServer(t: TestContext, name: string, url: string, service: string): Promise<boolean> {
  const problem = await problemOf(name, url);
  if (problem === undefined) return true;
  if (process.env.CI === 'true') {
    throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  }
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up ${service}`);
  return false;
}

/** Skips the test (or fails it under CI=true) when the inference server or its model is not ready. */
export function requireKserve(t: TestContext): Promise<boolean> {
  return requireServer(t, 'KServe server', KSERVE_URL, 'kserve');
}

/** The same for the Triton service (NVIDIA Triton through PyTriton, serving the demo model). */
export function requireTriton(t: TestContext): Promise<boolean> {
  return requireServer(t, 'Triton', TRITON_URL, 'triton');
}

/** The two real servers the kserve backend is tested against, with their addresses. */
export const INFERENCE_SERVERS = [
  { name: 'MLServer', url: KSERVE_URL, grpc: KSERVE_GRPC, require: requireKserve },
  { name: 'Triton', url: TRITON_URL, grpc: TRITON_GRPC, require: requireTriton },
] as const;
