/** The soak's result as a Markdown report: settings, the trends, the slow sink, the verdicts. */
import type { Trend } from './slope.js';
import type { SoakCheck } from './soak-checks.js';
import type { SoakResult } from './soak-scenario.js';

const MiB = 2 ** 20;

function n(value: number, digits = 0): string {
  if (value === Number.POSITIVE_INFINITY) return '∞';
  return Number.isFinite(value) ? value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }) : '–';
}

function trendRow(label: string, t: Trend, scale: number, unit: string, digits: number): string {
  const f = (v: number): string => n(v / scale, digits);
  return `| ${label} | ${f(t.start)} | ${f(t.end)} | ${f(t.max)} | ${f(t.perHour)} ${unit}/h |`;
}

/** The report. */
export function soakMarkdown(r: SoakResult, checks: readonly SoakCheck[]): string {
  const s = r.steady;
  const t = s.trends;
  const lines: string[] = [];
  const sat = r.saturation === null ? 'given' : `saturated ${n(r.saturation.rate, 1)} frames/s (${n(r.saturation.frames)} frames pre-filled)`;
  lines.push(
    `Soak of the Kafka → Kafka camera topology (${r.settings.client}, ${r.settings.partitions} partitions, ${n(r.settings.images)} distinct 640×480 JPEGs of ${n(r.settings.frameBytes.mean / 1024, 1)} KiB on average), ${r.cores} cores.`,
    '',
    `Rate: ${n(r.rate, 1)} frames/s (${sat}${r.saturation === null ? '' : `, × ${r.settings.fraction}`}) for ${n(s.seconds / 60, 1)} min; limits: maxInFlight ${r.settings.limits.maxInFlight}, maxInFlightBytes ${n(r.settings.limits.maxInFlightBytes / MiB)} MiB.`,
    `Produced ${n(s.producer.acked)} (failed ${n(s.producer.failed)}, skipped ${n(s.producer.skipped)}), predicted ${n(s.predicted)}, dead letters ${n(s.deadLetters)}; exit ${String(s.exit)} after SIGTERM in ${n(s.stopSeconds, 1)} s.`,
    `End-to-end latency after the warm-up (capture → prediction appended): p50 ${n(s.latencyMs.p50)} / p95 ${n(s.latencyMs.p95)} / p99 ${n(s.latencyMs.p99)} / max ${n(s.latencyMs.max)} ms over ${n(s.latencyMs.count)} predictions.`,
    '',
    `Samples every ${r.settings.sampleMs / 1000} s; trends over the ${t.rssBytes.samples} after the warm-up (${n(s.warmUpMs / 1000)} s):`,
    '',
    '| series | after warm-up | end | max | least-squares slope |',
    '|---|---|---|---|---|',
    trendRow('RSS (MiB)', t.rssBytes, MiB, 'MiB', 1),
    trendRow('JS heap used (MiB)', t.heapUsedBytes, MiB, 'MiB', 1),
    trendRow('external memory (MiB)', t.externalBytes, MiB, 'MiB', 1),
    trendRow('open fds', t.fds, 1, 'fds', 0),
    trendRow('active handles', t.handles, 1, 'handles', 0),
    trendRow('active resources', t.resources, 1, 'resources', 0),
    trendRow('event-loop lag p99 (ms)', t.eventLoopLagP99Seconds, 1e-3, 'ms', 1),
    '',
  );
  const w = r.slowSink;
  if (w !== null) {
    lines.push(
      `Slow sink: the same stream into an object-sink (S3, images archived + JSON lines) behind a link of ${n(w.link.requestsPerSecond, 2)} requests/s for ${n(w.seconds / 60, 1)} min:`,
      '',
      '| measured | value |',
      '|---|---|',
      `| input rate / sink rate | ${n(w.rate, 1)} frames/s / ${n(w.sinkRate, 2)} images archived/s (${n(w.inputOverSink, 0)}× slower) |`,
      `| images archived / inputs acknowledged by the sink | ${n(w.archived)} / ${n(w.acknowledged)} |`,
      `| max RSS | ${n(w.maxRssBytes / MiB)} MiB (steady phase max ${n(s.maxRssBytes / MiB)} MiB) |`,
      `| RSS while paused: start → end, slope | ${n(w.rssWhilePaused.start / MiB)} → ${n(w.rssWhilePaused.end / MiB)} MiB, ${n(w.rssWhilePaused.perHour / MiB)} MiB/h |`,
      `| in flight, max sampled | ${n(w.maxInFlight)} inputs, ${n(w.maxInFlightBytes / MiB, 1)} MiB (limits ${r.settings.limits.maxInFlight}, ${n(r.settings.limits.maxInFlightBytes / MiB)} MiB) |`,
      `| source paused | ${n(w.pauses)} pauses, paused in ${n(w.pausedShare * 100)} % of samples |`,
      `| Kafka consumer lag | ${n(w.consumerLag.start)} → ${n(w.consumerLag.end)} records (max ${n(w.consumerLag.max)}) |`,
      `| produced (failed, skipped) / dead letters | ${n(w.producer.acked)} (${n(w.producer.failed)}, ${n(w.producer.skipped)}) / ${n(w.deadLetters)} |`,
      `| link: requests, max queued, abandoned, errors from S3 | ${n(w.link.requests)}, ${n(w.link.maxQueued)}, ${n(w.link.abandoned)}, ${n(w.link.upstreamErrors)} |`,
      `| warnings logged (retries) | ${n(w.warningsPerSecond, 1)} per second |`,
      `| exit after SIGTERM (1: the drain timed out, inputs read again on restart) | ${String(w.exit)} in ${n(w.stopSeconds, 1)} s (drainTimeoutMs ${n(r.settings.limits.drainTimeoutMs / 1000)} s) |`,
      '',
    );
    if (w.stopLog.length > 0) lines.push(`It took ${n(w.stopSeconds)} s to stop (${String(w.exit)}), past drainTimeoutMs; its errors, its stop line and its last lines:`, '', '```', ...w.stopLog, '```', '');
  }
  // A service away for a while (a restart) shows in the producer's and the link's counts: the figures then say less about the engine.
  const outage = s.producer.failed + s.producer.skipped + (w === null ? 0 : w.producer.failed + w.producer.skipped + w.link.upstreamErrors);
  if (outage > 0) lines.push(`Note: Kafka or S3 did not answer every request (${n(outage)} sends failed or skipped, or S3 errors on the link): a restart or a stall of the machine during the run; judge the figures with that in mind.`, '');
  lines.push('| check | value | bound | |', '|---|---|---|---|');
  for (const c of checks) lines.push(`| ${c.name} | ${n(c.value, 1)} ${c.unit} | ${c.passes} ${n(c.bound, 1)} | ${c.passed ? 'pass' : '**FAIL**'} |`);
  return `${lines.join('\n')}\n`;
}
