/**
 * `centaur run` as a child process, as users run it: for scale-out and crash tests. Its JSON log
 * lines are kept so that a test can wait for, e.g., a partition assignment.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';

export interface CentaurProcess {
  readonly child: ChildProcess;
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code (or the signal's name). */
  readonly exited: Promise<number | string>;
  stdout(): string;
  /** Waits until a log line satisfies `match`, failing after `timeoutMs`. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const ENTRY = path.resolve('src/cli/centaur.ts');

/** Starts `centaur run <file> --log-level info --json --http 127.0.0.1:0 [...args]` with tsx. */
export function startCentaur(file: string, env: Record<string, string> = {}, args: readonly string[] = []): CentaurProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, 'run', file, '--log-level', 'info', '--json', '--http', '127.0.0.1:0', ...args], {
    env: { ...process.env, UV_THREADPOOL_SIZE: '8', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let out = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return {
    child,
    logs,
    exited,
    stdout: () => out,
    waitForLog: async (match, timeoutMs = 60000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.find(match);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error(`no matching log line within ${timeoutMs} ms; last lines: ${JSON.stringify(logs.slice(-5))}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

/** The partitions a process logged as assigned most recently. */
export function lastAssignment(p: CentaurProcess): string[] | undefined {
  const lines = p.logs.filter((l) => l.msg === 'Partitions assigned.');
  return lines[lines.length - 1]?.partitions as string[] | undefined;
}
