/**
 * Runs a training in a child process at low CPU priority, one job per process: the stream's event
 * loop never waits on it and the inference beside it keeps the cores (the child is reniced, 19 by
 * default, so the scheduler gives it what inference leaves). Progress comes back per epoch; a
 * closed trainer kills its child.
 */
import { fork } from 'node:child_process';
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { CentaurError, isErrorCode } from '../core/errors.js';
import type { EpochFigures } from './head-trainer.js';
import type { TrainingJob, TrainingMessage } from './training-job.js';
import type { TrainedVersion } from './training-run.js';

/** The child's entry, beside this file (TypeScript under tsx, JavaScript once built). */
const CHILD = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './training-child.ts' : './training-child.js', import.meta.url));

/** The flags of `argv` the child needs too: module loaders (tsx under tests), warnings, memory; not the test runner's or the inspector's. */
export function loaderArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i] as string;
    if (['--import', '--require', '-r', '--loader', '--experimental-loader'].includes(a) && i + 1 < argv.length) out.push(a, argv[++i] as string);
    else if (/^--(import|require|loader|experimental-loader)=/.test(a) || /^--(no-warnings|enable-source-maps|max-old-space-size=)/.test(a)) out.push(a);
  }
  return out;
}

/** How the child runs. */
export interface TrainingProcessOptions {
  /** Nice value of the child (0–19; higher is lower priority). */
  readonly niceness: number;
  readonly onEpoch?: (epoch: EpochFigures) => void;
  /** Aborting kills the child and rejects. */
  readonly signal?: AbortSignal;
}

/** Trains `job` in a child process; rejects with the child's error (its code kept) or when it dies. */
export function trainInChildProcess(job: TrainingJob, o: TrainingProcessOptions): Promise<TrainedVersion> {
  return new Promise((resolve, reject) => {
    const execArgv = loaderArgs(process.execArgv);
    const child = fork(CHILD, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    let settled = false;
    const finish = (error: Error | undefined, trained?: TrainedVersion): void => {
      if (settled) return;
      settled = true;
      o.signal?.removeEventListener('abort', abort);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error !== undefined) reject(error);
      else resolve(trained as TrainedVersion);
    };
    const abort = (): void => finish(new CentaurError('INTERNAL', 'the training was stopped', { retriable: true }));
    if (o.signal?.aborted === true) return abort();
    o.signal?.addEventListener('abort', abort);
    if (child.pid !== undefined) {
      try {
        setPriority(child.pid, o.niceness);
      } catch {
        // Not permitted here: the child runs at normal priority.
      }
    }
    child.on('message', (message: TrainingMessage) => {
      if (message.type === 'epoch') o.onEpoch?.(message.epoch);
      else if (message.type === 'done') finish(undefined, message.trained);
      else finish(new CentaurError(isErrorCode(message.code) ? message.code : 'INTERNAL', message.message, { retriable: message.retriable }));
    });
    child.on('error', (error) => finish(new CentaurError('INTERNAL', `the training process failed: ${error.message}`, { cause: error, retriable: true })));
    child.on('exit', (code, signal) => finish(new CentaurError('INTERNAL', `the training process ended (${signal ?? `exit ${String(code)}`}) before its result`, { retriable: true })));
    child.send(job);
  });
}
