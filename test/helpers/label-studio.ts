/**
 * The Label Studio server the services script starts (scripts/services/services.sh up labelstudio),
 * for the labelling tests: its address and test token, a check that skips (or, under CI=true, fails)
 * a test without it, and a small authenticated request helper.
 */
import type { TestContext } from 'node:test';

export const LABEL_STUDIO_URL = process.env.CENTAUR_LABEL_STUDIO_URL ?? 'http://127.0.0.1:8089';
/** The services script's test token (a legacy API token). */
export const LABEL_STUDIO_TOKEN = process.env.CENTAUR_LABEL_STUDIO_TOKEN ?? 'c3a7a0e1d2b4f6a8c0e2d4f6a8b0c2e4f6a8b0d2';

/** Skips the test (or fails it under CI=true) when Label Studio does not answer. */
export async function requireLabelStudio(t: TestContext): Promise<boolean> {
  let problem: string | undefined;
  try {
    const response = await fetch(`${LABEL_STUDIO_URL}/health`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) problem = `Label Studio at ${LABEL_STUDIO_URL}: HTTP ${response.status}`;
  } catch (error) {
    problem = `Label Studio at ${LABEL_STUDIO_URL}: ${(error as Error).message}`;
  }
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up labelstudio`);
  return false;
}

/** A JSON answer of Label Studio's API, with the test token. */
export async function labelStudioGet<T>(pathAndQuery: string): Promise<T> {
  const response = await fetch(`${LABEL_STUDIO_URL}${pathAndQuery}`, { headers: { authorization: `Token ${LABEL_STUDIO_TOKEN}` } });
  if (!response.ok) throw new Error(`GET ${pathAndQuery}: HTTP ${response.status}`);
  return (await response.json()) as T;
}
