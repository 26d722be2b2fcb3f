/**
 * The MLflow tracking server the services script starts (scripts/services/services.sh up mlflow),
 * for the training tests: its address, a check that skips (or, under CI=true, fails) a test without
 * it, and MLflow's own Python client (from the service's venv) as the independent reader of what
 * Centaur recorded there.
 */
import { execFile } from 'node:child_process';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

export const MLFLOW_URL = process.env.CENTAUR_MLFLOW_URL ?? 'http://127.0.0.1:5000';
export const MLFLOW_PYTHON = process.env.CENTAUR_MLFLOW_PYTHON ?? `${process.env.HOME ?? ''}/.cache/centaur-services/mlflow/venv/bin/python`;

/** Skips the test (or fails it under CI=true) when MLflow does not answer. */
export async function requireMlflow(t: TestContext): Promise<boolean> {
  let problem: string | undefined;
  try {
    const response = await fetch(`${MLFLOW_URL}/health`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) problem = `MLflow at ${MLFLOW_URL}: HTTP ${response.status}`;
  } catch (error) {
    problem = `MLflow at ${MLFLOW_URL}: ${(error as Error).message}`;
  }
  if (problem === undefined) return true;
  if (process.env.CI === 'true') throw new Error(`service not reachable: ${problem}; CI must start it with scripts/services/services.sh up`);
  t.skip(`service not reachable (${problem}); run scripts/services/services.sh up mlflow`);
  return false;
}

/** Runs a Python script with MLflow's client pointed at the server; resolves with its stdout parsed as JSON. */
export async function mlflowPython<T>(script: string, args: readonly string[] = []): Promise<T> {
  const { stdout } = await promisify(execFile)(MLFLOW_PYTHON, ['-c', script, ...args], {
    env: { ...process.env, MLFLOW_TRACKING_URI: MLFLOW_URL, MLFLOW_DISABLE_TELEMETRY: 'true', DO_NOT_TRACK: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout) as T;
}
