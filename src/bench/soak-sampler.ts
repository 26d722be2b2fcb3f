/**
 * One sample of a running `centaur run`, taken from the outside: resident memory and open file
 * descriptors from /proc/<pid> (what the kernel says, whatever the process thinks), and from its
 * /metrics the Node.js default metrics (event-loop lag p99 since the last scrape — prom-client
 * resets its histogram on every collect —, active handles and resources, heap) and the runtime's
 * own (in flight, backpressure, consumer lag, inputs finished). A figure that cannot be read is NaN.
 */
import { readdir, readFile } from 'node:fs/promises';
import { parsePrometheusText, sumOf } from './prometheus-text.js';

/** What the process looked like at `atMs` (ms since the phase started). */
export interface ProcessSample {
  readonly atMs: number;
  /** VmRSS of /proc/<pid>/status. */
  readonly rssBytes: number;
  /** Entries of /proc/<pid>/fd. */
  readonly fds: number;
  /** `nodejs_active_handles_total`: libuv handles keeping the loop alive (sockets, servers, timers, pipes). */
  readonly handles: number;
  /** `nodejs_active_resources_total`: every async resource keeping the loop alive. */
  readonly resources: number;
  /** `nodejs_eventloop_lag_p99_seconds`, over the time since the previous scrape. */
  readonly eventLoopLagP99Seconds: number;
  readonly eventLoopLagMaxSeconds: number;
  readonly heapUsedBytes: number;
  /** `nodejs_external_memory_bytes`: Buffers and native memory V8 knows of. */
  readonly externalBytes: number;
  readonly inFlight: number;
  readonly inFlightBytes: number;
  /** 1 while the sources are paused by the in-flight limits. */
  readonly paused: number;
  readonly pauses: number;
  /** Summed `centaur_kafka_consumer_lag`. */
  readonly consumerLag: number;
  readonly completed: number;
  readonly deadLetters: number;
}

/** The resident set size of `pid`, from /proc (NaN where there is no /proc). */
export async function rssOf(pid: number): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? Number.NaN : Number(kb) * 1024;
  } catch {
    return Number.NaN;
  }
}

/** Open file descriptors of `pid`, from /proc (NaN where there is no /proc). */
export async function fdsOf(pid: number): Promise<number> {
  try {
    return (await readdir(`/proc/${pid}/fd`)).length;
  } catch {
    return Number.NaN;
  }
}

/** Samples `pid` and its /metrics at `metricsUrl`; `atMs` is stamped by the caller's clock. */
export async function sampleProcess(pid: number, metricsUrl: string, atMs: number): Promise<ProcessSample> {
  const [rssBytes, fds, text] = await Promise.all([
    rssOf(pid),
    fdsOf(pid),
    fetch(metricsUrl, { signal: AbortSignal.timeout(5000) }).then(
      (r) => (r.ok ? r.text() : ''),
      () => '',
    ),
  ]);
  const m = parsePrometheusText(text);
  return {
    atMs,
    rssBytes,
    fds,
    handles: sumOf(m, 'nodejs_active_handles_total'),
    resources: sumOf(m, 'nodejs_active_resources_total'),
    eventLoopLagP99Seconds: sumOf(m, 'nodejs_eventloop_lag_p99_seconds'),
    eventLoopLagMaxSeconds: sumOf(m, 'nodejs_eventloop_lag_max_seconds'),
    heapUsedBytes: sumOf(m, 'nodejs_heap_size_used_bytes'),
    externalBytes: sumOf(m, 'nodejs_external_memory_bytes'),
    inFlight: sumOf(m, 'centaur_in_flight_envelopes'),
    inFlightBytes: sumOf(m, 'centaur_in_flight_bytes'),
    paused: sumOf(m, 'centaur_backpressure_paused'),
    pauses: sumOf(m, 'centaur_backpressure_pauses_total'),
    consumerLag: sumOf(m, 'centaur_kafka_consumer_lag'),
    completed: sumOf(m, 'centaur_inputs_completed_total', { outcome: 'ok' }),
    deadLetters: sumOf(m, 'centaur_inputs_completed_total', { outcome: 'dead_letter' }),
  };
}
