/**
 * `centaur run` as a child process for the soak, as a user runs it (`node --import tsx
 * src/cli/centaur.ts run <file>`, UV_THREADPOOL_SIZE=8 as bin/centaur.cjs sets it), serving HTTP on
 * a free port: its pid (for /proc), the URL of its /metrics, the last log lines (a bounded ring, so
 * an hour of logs costs the harness nothing), and a stop that signals and waits for the exit.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { PACKAGE_ROOT } from '../core/package-info.js';

/** Log lines kept for error messages. */
const KEPT_LINES = 200;
/** Errors and the stop's own lines, kept apart so a flood of warnings cannot push them out. */
const NOTABLE = /"level":(50|60)|Stopping/;
const KEPT_NOTABLE = 50;

/** A running `centaur run`. */
export class CentaurChild {
  private readonly lines: string[] = [];
  private readonly notableLines: string[] = [];
  /** Warning lines logged so far (pino level 40). */
  warnings = 0;
  private exitCode: number | string | null = null;
  private readonly exited: Promise<number | string>;

  private constructor(private readonly child: ChildProcess) {
    let pending = '';
    const keep = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) {
        this.lines.push(line);
        if (this.lines.length > KEPT_LINES) this.lines.shift();
        if (NOTABLE.test(line) && this.notableLines.length < KEPT_NOTABLE) this.notableLines.push(line);
        if (line.includes('"level":40')) this.warnings += 1;
      }
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.exitCode = code ?? signal ?? -1;
        resolve(this.exitCode);
      }),
    );
  }

  /** Starts `centaur run <file> --json --log-level info --http 127.0.0.1:0`. */
  static start(topologyFile: string, env: Record<string, string | undefined> = process.env): CentaurChild {
    const entry = path.join(PACKAGE_ROOT, 'src', 'cli', 'centaur.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', entry, 'run', topologyFile, '--log-level', 'info', '--json', '--http', '127.0.0.1:0'], {
      cwd: PACKAGE_ROOT,
      env: { ...env, UV_THREADPOOL_SIZE: env.UV_THREADPOOL_SIZE ?? '8' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new CentaurChild(child);
  }

  /** The child's pid (its own process: tsx runs in it, nothing is re-executed). */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The exit code or signal, once it has exited. */
  get exit(): number | string | null {
    return this.exitCode;
  }

  /** The last log lines, newest last. */
  lastLines(n = 20): string[] {
    return this.lines.slice(-n);
  }

  /** The first error lines and the stop's line (`Stopping: …`). */
  notable(): string[] {
    return [...this.notableLines];
  }

  /** Why the child cannot be used (it exited), or undefined. */
  failed(): string | undefined {
    return this.exitCode === null ? undefined : `centaur run exited (${String(this.exitCode)}); last lines:\n${this.lastLines(10).join('\n')}`;
  }

  /** The HTTP base URL it logged (`HTTP server listening.`); waits for it. */
  async httpUrl(timeoutMs = 120_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        if (!line.includes('HTTP server listening')) continue;
        try {
          const url = (JSON.parse(line) as { url?: unknown }).url;
          if (typeof url === 'string') return url.replace(/\/$/, '');
        } catch {
          // Not a JSON line.
        }
      }
      const failure = this.failed();
      if (failure !== undefined) throw new Error(failure);
      if (Date.now() > deadline) throw new Error(`centaur run logged no HTTP address in ${timeoutMs / 1000} s; last lines:\n${this.lastLines(10).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits until `/readyz` answers 200 (the source is connected, the model loaded). */
  async ready(url: string, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const failure = this.failed();
      if (failure !== undefined) throw new Error(failure);
      const ok = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(5000) }).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) return;
      if (Date.now() > deadline) throw new Error(`centaur run not ready in ${timeoutMs / 1000} s; last lines:\n${this.lastLines(10).join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Sends `signal` (SIGTERM: a clean stop) and waits for the exit; SIGKILL after `timeoutMs`. Resolves with the exit code or signal and the seconds it took. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 60_000): Promise<{ exit: number | string; seconds: number }> {
    const started = performance.now();
    if (this.exitCode === null) this.child.kill(signal);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    try {
      const exit = await this.exited;
      return { exit, seconds: (performance.now() - started) / 1000 };
    } finally {
      clearTimeout(killer);
    }
  }
}
