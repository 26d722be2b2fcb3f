/**
 * The knee search of `centaur bench … --knee`: the highest paced rate at which the p95 latency stays
 * under a bound, found by probing. The first probe is at `high` (the saturated throughput × the
 * highest share worth asking for); a failing probe starts a bisection between the best passing
 * rate and the lowest failing one, `steps` probes in all.
 */

/** One paced probe: the rate asked for, and what it measured. */
export interface KneeProbe {
  readonly rate: number;
  readonly p95Ms: number;
  readonly passed: boolean;
}

/** The search's outcome: the best passing rate (null: even `low` failed) and every probe in order. */
export interface KneeResult {
  readonly boundMs: number;
  readonly rate: number | null;
  readonly probes: readonly KneeProbe[];
}

/** Searches [low, high] for the highest rate whose probe's p95 is under `boundMs`. */
export async function searchKnee(
  probe: (rate: number) => Promise<number>,
  o: { readonly low: number; readonly high: number; readonly boundMs: number; readonly steps: number },
): Promise<KneeResult> {
  if (!(o.low > 0 && o.high >= o.low && o.steps >= 1)) throw new RangeError(`knee search needs 0 < low ≤ high and steps ≥ 1 (low ${o.low}, high ${o.high}, steps ${o.steps})`);
  const probes: KneeProbe[] = [];
  const tryRate = async (rate: number): Promise<boolean> => {
    const p95Ms = await probe(rate);
    const passed = p95Ms < o.boundMs;
    probes.push({ rate, p95Ms, passed });
    return passed;
  };
  if (await tryRate(o.high)) return { boundMs: o.boundMs, rate: o.high, probes };
  let pass: number | null = null;
  let fail = o.high;
  let rate = o.low;
  for (let step = 1; step < o.steps; step += 1) {
    if (await tryRate(rate)) pass = rate;
    else fail = rate;
    // Below the lowest rate asked for there is nothing to find.
    if (pass === null && rate === o.low) break;
    rate = ((pass ?? o.low) + fail) / 2;
  }
  return { boundMs: o.boundMs, rate: pass, probes };
}
