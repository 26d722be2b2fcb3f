/**
 * The Python readers installed by `scripts/services/services.sh up` (scripts/services/pytools:
 * pyarrow, Feast, tfrecord): independent checks of the files and keys Centaur writes. Without
 * them a test fails in CI and is skipped elsewhere, naming the command to run.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const PYTOOLS_PYTHON =
  process.env.CENTAUR_PYTOOLS_PYTHON ?? path.join(process.env.CENTAUR_SERVICES_HOME ?? path.join(homedir(), '.cache', 'centaur-services'), 'pytools', 'venv', 'bin', 'python');

/** Skips the test (or fails it under CI=true) when the readers' virtualenv is missing. */
export async function requirePytools(t: TestContext): Promise<boolean> {
  try {
    await access(PYTOOLS_PYTHON);
    return true;
  } catch {
    const problem = `no Python readers at ${PYTOOLS_PYTHON}`;
    if (process.env.CI === 'true') throw new Error(`${problem}; CI must install them with scripts/services/services.sh up`);
    t.skip(`${problem}; run scripts/services/services.sh up`);
    return false;
  }
}

/** Runs a Python script (inline source) with the readers' interpreter and returns its stdout; env adds to the process's. */
export async function runPython(source: string, args: readonly string[] = [], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await run(PYTOOLS_PYTHON, ['-c', source, ...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}
