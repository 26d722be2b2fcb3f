/**
 * Which inputs of a window a person should label, within a budget: first a random exploration share
 * (drawn from every candidate, so the labels it brings measure accuracy without selection bias),
 * then the rest by uncertainty, stratified by predicted class (each class present gets an equal
 * quota, what a class cannot fill goes to the others), and within a class optionally by diversity
 * (k-center greedy over the embeddings of its most uncertain candidates, so near-duplicates cost
 * one label). Pure: the operator feeds it a window and a random source.
 */
import type { Random } from '../drift/state/random.js';
import { kCenterGreedy } from './k-center.js';
import type { SelectionStrategy } from '../core/envelope.js';

/** Why an input was picked. */
export type { SelectionStrategy };

/** One candidate: its position in the window, predicted class, uncertainty and embedding. */
export interface Candidate {
  readonly index: number;
  readonly predicted: string;
  readonly uncertainty: number;
  readonly embedding?: ArrayLike<number>;
}

/** One pick. */
export interface Pick {
  readonly index: number;
  readonly strategy: SelectionStrategy;
}

/** How a window is picked from. */
export interface SelectionPolicy {
  /** Picks at most, this window. */
  readonly budget: number;
  /** Share of the budget drawn at random, in [0, 1]. */
  readonly explorationShare: number;
  /** Equal quotas per predicted class (else the most uncertain overall). */
  readonly stratify: boolean;
  /** Diversity: candidates considered per pick (k-center over that many of the most uncertain); 1 or less: none. */
  readonly diversityPool: number;
}

/** Splits `total` over strata with these capacities, as evenly as they allow (water-filling; larger strata take the remainder first). */
export function quotas(capacities: readonly number[], total: number): number[] {
  const out = capacities.map(() => 0);
  let left = Math.min(total, capacities.reduce((a, b) => a + b, 0));
  while (left > 0) {
    const open = capacities.map((c, i) => i).filter((i) => out[i]! < capacities[i]!);
    const each = Math.floor(left / open.length);
    if (each === 0) {
      // Fewer picks than open strata: the ones with the most room first (ties by order).
      const byRoom = [...open].sort((a, b) => capacities[b]! - out[b]! - (capacities[a]! - out[a]!) || a - b);
      for (const i of byRoom.slice(0, left)) out[i]! += 1;
      break;
    }
    for (const i of open) {
      const add = Math.min(each, capacities[i]! - out[i]!);
      out[i]! += add;
      left -= add;
    }
  }
  return out;
}

/** Picks from one stratum: its most uncertain, or a diverse set among them. */
function pickStratum(candidates: readonly Candidate[], count: number, pool: number): Pick[] {
  if (count <= 0) return [];
  const ranked = [...candidates].sort((a, b) => b.uncertainty - a.uncertainty || a.index - b.index);
  const considered = ranked.slice(0, Math.max(count, Math.floor(count * pool)));
  // Diversity needs comparable vectors: all present, of one length, finite.
  const dimension = considered[0]?.embedding?.length ?? 0;
  const withEmbeddings = dimension > 0 && considered.every((c) => c.embedding !== undefined && c.embedding.length === dimension && Array.prototype.every.call(c.embedding, Number.isFinite));
  if (pool <= 1 || !withEmbeddings || considered.length <= count) return ranked.slice(0, count).map((c) => ({ index: c.index, strategy: 'uncertainty' }));
  // k-center from the most uncertain: each further pick is the candidate least like those taken.
  return kCenterGreedy(considered.map((c) => c.embedding!), count, 0).map((i) => ({ index: considered[i]!.index, strategy: 'diversity' }));
}

/** Picks a window's inputs for labelling; why: a team's labelling budget goes where the model is least sure, and some at random. */
export function selectForLabelling(candidates: readonly Candidate[], policy: SelectionPolicy, random: Random): Pick[] {
  const budget = Math.min(Math.max(0, Math.floor(policy.budget)), candidates.length);
  if (budget === 0) return [];
  // Exploration: a whole number of picks whose mean is the share (the fraction decided at random).
  const wanted = budget * Math.min(1, Math.max(0, policy.explorationShare));
  const exploring = Math.min(budget, Math.floor(wanted) + (random.nextDouble() < wanted - Math.floor(wanted) ? 1 : 0));
  const pool = [...candidates];
  const picks: Pick[] = [];
  for (let i = 0; i < exploring; i += 1) {
    const j = random.below(pool.length);
    picks.push({ index: pool[j]!.index, strategy: 'exploration' });
    pool.splice(j, 1);
  }
  const rest = budget - exploring;
  if (!policy.stratify) return [...picks, ...pickStratum(pool, rest, policy.diversityPool)];
  const classes = [...new Set(pool.map((c) => c.predicted))].sort();
  const byClass = classes.map((c) => pool.filter((x) => x.predicted === c));
  const shares = quotas(byClass.map((g) => g.length), rest);
  byClass.forEach((group, i) => picks.push(...pickStratum(group, shares[i]!, policy.diversityPool)));
  return picks;
}

/**
 * A labels-per-hour ceiling as a token bucket (full at start, refilled continuously); why: what a
 * team can label is a rate, and a burst of uncertain inputs must not spend a day's budget.
 */
export class RateCeiling {
  private tokens: number;
  private last: number | undefined;

  private readonly capacity: number;

  constructor(private readonly perHour: number) {
    if (!(perHour > 0)) throw new RangeError('a labelling rate ceiling must be above 0 labels per hour');
    // At least one whole label fits, so a ceiling below one an hour still yields labels.
    this.capacity = Math.max(1, perHour);
    this.tokens = this.capacity;
  }

  /** Whole labels available at time `now` (ms). */
  available(now: number): number {
    if (this.last !== undefined) this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 3_600_000) * this.perHour);
    this.last = now;
    return Math.floor(this.tokens);
  }

  /** Spends `n` labels (at most what is available). */
  spend(n: number): void {
    this.tokens = Math.max(0, this.tokens - n);
  }
}
