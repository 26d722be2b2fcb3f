/**
 * The soak's verdicts: each figure the soak is judged by against its bound, pass or fail. Pure, so the
 * bench prints the same verdicts the CI test asserts.
 */
import type { SoakResult } from './soak-scenario.js';

const MiB = 2 ** 20;

/** The bounds a soak must stay within. */
export interface SoakBounds {
  /** RSS least-squares slope after the warm-up, MiB per hour. */
  readonly rssSlopeMiBPerHour: number;
  /** RSS at the end over RSS at the end of the warm-up, MiB. */
  readonly rssGrowthMiB: number;
  /** Open fds at the end over those at the end of the warm-up. */
  readonly fdGrowth: number;
  /** Active handles at the end over those at the end of the warm-up. */
  readonly handleGrowth: number;
  /** Slack of the slow sink's RSS bound over what the limits let it hold (see `slowSinkRssBound`), MiB. */
  readonly slowSinkSlackMiB: number;
}

/** For an hour: 200 MiB/h after a 12-minute warm-up is a leak of under 0.6 KiB per frame at 100 frames/s. */
export const DEFAULT_SOAK_BOUNDS: SoakBounds = { rssSlopeMiBPerHour: 200, rssGrowthMiB: 64, fdGrowth: 8, handleGrowth: 8, slowSinkSlackMiB: 64 };

/**
 * What the slow sink's RSS may reach: the steady phase's largest RSS (the same topology, keeping up),
 * plus twice the input bytes the in-flight limits let in — each held input's frame, and a copy of it
 * on its way to the store — plus the slack. Memory growing with the backlog in Kafka crosses it.
 */
export function slowSinkRssBound(r: SoakResult, b: SoakBounds): number {
  const heldBytes = Math.min(r.settings.limits.maxInFlightBytes, r.settings.limits.maxInFlight * r.settings.frameBytes.max);
  return r.steady.maxRssBytes + 2 * heldBytes + b.slowSinkSlackMiB * MiB;
}

/** One verdict. */
export interface SoakCheck {
  readonly name: string;
  readonly value: number;
  /** The bound, and which side of it passes. */
  readonly bound: number;
  readonly passes: 'at most' | 'at least';
  readonly unit: string;
  readonly passed: boolean;
}

function check(name: string, value: number, passes: SoakCheck['passes'], bound: number, unit: string): SoakCheck {
  // A figure that could not be measured (NaN) fails: the soak could not show what it is for.
  const passed = passes === 'at most' ? value <= bound : value >= bound;
  return { name, value, bound, passes, unit, passed };
}

/** Every verdict of a soak's result. */
export function soakChecks(r: SoakResult, b: SoakBounds = DEFAULT_SOAK_BOUNDS): SoakCheck[] {
  const t = r.steady.trends;
  const checks: SoakCheck[] = [
    check('steady: RSS slope after the warm-up', t.rssBytes.perHour / MiB, 'at most', b.rssSlopeMiBPerHour, 'MiB/h'),
    check('steady: RSS growth, end over end of warm-up', (t.rssBytes.end - t.rssBytes.start) / MiB, 'at most', b.rssGrowthMiB, 'MiB'),
    check('steady: open fds growth, end over end of warm-up', t.fds.end - t.fds.start, 'at most', b.fdGrowth, 'fds'),
    check('steady: active handles growth, end over end of warm-up', t.handles.end - t.handles.start, 'at most', b.handleGrowth, 'handles'),
    check('steady: every frame produced was predicted', r.steady.predicted - r.steady.producer.acked, 'at least', 0, 'predictions'),
    check('steady: dead letters', r.steady.deadLetters, 'at most', 0, 'inputs'),
  ];
  const s = r.slowSink;
  if (s !== null) {
    const limit = r.settings.limits.maxInFlight;
    const waiting = s.producer.acked - limit - (s.sinkRate * s.seconds);
    checks.push(
      check('slow sink: max RSS (bound: steady max + 2 × the bytes the limits admit + slack)', s.maxRssBytes / MiB, 'at most', slowSinkRssBound(r, b) / MiB, 'MiB'),
      check('slow sink: the source was paused by the in-flight limit', s.pauses, 'at least', 1, 'pauses'),
      check('slow sink: in flight never above maxInFlight', s.maxInFlight, 'at most', limit, 'inputs'),
      // The frames the graph did not take wait in Kafka: at least half of them show as consumer lag at the end.
      check('slow sink: consumer lag at the end', s.consumerLag.end, 'at least', Math.max(1, Math.floor(waiting / 2)), 'records'),
      check('slow sink: the sink was the bottleneck (input ÷ sink rate)', s.inputOverSink, 'at least', 10, '×'),
    );
  }
  return checks;
}
