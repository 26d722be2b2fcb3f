/**
 * Window state for numerical columns in `evidently` mode: a bounded uniform sample. While the window
 * has seen at most `capacity` values the sample is every value, in arrival order, so Evidently's
 * methods on it give Evidently's numbers exactly; beyond, it is a uniform random sample of that size
 * (Vitter's algorithm R). Two partials merge into a uniform sample of their union: the number taken
 * from each side is drawn from the hypergeometric distribution of a uniform sample of the union, and
 * that many values are drawn without replacement from each side's sample. Merging two exact
 * partials whose total fits is their concatenation, so it stays exact.
 */
import { DriftInputError } from '../errors.js';
import type { NumericValue } from '../types.js';
import { Random, type RandomStateJson } from './random.js';

/** The plain-JSON form of a reservoir. */
export interface ReservoirStateJson {
  readonly type: 'reservoir';
  readonly capacity: number;
  /** Non-missing values seen, sampled or not. */
  readonly seen: number;
  readonly missing: number;
  readonly values: readonly number[];
  readonly random: RandomStateJson;
}

/** Draws k of the values uniformly without replacement (a partial Fisher–Yates shuffle of a copy). */
function drawWithoutReplacement(values: readonly number[], k: number, random: Random): number[] {
  const copy = [...values];
  for (let i = 0; i < k; i += 1) {
    const j = i + random.below(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, k);
}

/** A mergeable bounded uniform sample; why: Evidently's methods need the window's values, memory must stay bounded. */
export class ReservoirState {
  readonly capacity: number;
  private sample: number[] = [];
  private seenCount = 0;
  private missingCount = 0;
  private readonly random: Random;

  constructor(capacity: number, seed: number | Random) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new DriftInputError('a reservoir capacity is a positive integer');
    this.capacity = capacity;
    this.random = typeof seed === 'number' ? Random.fromSeed(seed) : seed;
  }

  /** A reservoir read back from its JSON form, checked. */
  static fromJSON(json: ReservoirStateJson): ReservoirState {
    if (json.type !== 'reservoir') throw new DriftInputError(`expected a reservoir state, got ${String(json.type)}`);
    const state = new ReservoirState(json.capacity, Random.fromJSON(json.random));
    if (!Number.isSafeInteger(json.seen) || json.seen < 0 || !Number.isSafeInteger(json.missing) || json.missing < 0) {
      throw new DriftInputError('reservoir state: seen and missing must be non-negative integers');
    }
    const values: readonly unknown[] = json.values;
    if (values.length !== Math.min(json.seen, json.capacity)) {
      throw new DriftInputError('reservoir state: it holds min(seen, capacity) values');
    }
    if (!values.every((v) => typeof v === 'number' && Number.isFinite(v))) {
      throw new DriftInputError('reservoir state: values must be finite numbers');
    }
    state.sample = [...json.values];
    state.seenCount = json.seen;
    state.missingCount = json.missing;
    return state;
  }

  /** Offers one value (null, undefined, NaN and ±Infinity are counted as missing and not sampled). */
  add(value: NumericValue): void {
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      this.missingCount += 1;
      return;
    }
    this.seenCount += 1;
    if (this.sample.length < this.capacity) {
      this.sample.push(value);
      return;
    }
    const j = this.random.below(this.seenCount);
    if (j < this.capacity) this.sample[j] = value;
  }

  /** Offers every value. */
  addAll(values: Iterable<NumericValue>): void {
    for (const v of values) this.add(v);
  }

  /** Replaces this sample by a uniform sample of both partials' values (same capacity required) and returns this. */
  merge(other: ReservoirState): this {
    if (other.capacity !== this.capacity) throw new DriftInputError('cannot merge reservoirs of different capacities');
    const total = this.seenCount + other.seenCount;
    if (total <= this.capacity) {
      this.sample = [...this.sample, ...other.sample];
    } else {
      let leftRemaining = this.seenCount;
      let rightRemaining = other.seenCount;
      let fromLeft = 0;
      for (let i = 0; i < this.capacity; i += 1) {
        // Sequential draw of a uniform sample of the union: the next member is from the left with
        // probability (left values not yet drawn) / (all values not yet drawn).
        if (this.random.below(leftRemaining + rightRemaining) < leftRemaining) {
          fromLeft += 1;
          leftRemaining -= 1;
        } else {
          rightRemaining -= 1;
        }
      }
      const left = drawWithoutReplacement(this.sample, fromLeft, this.random);
      const right = drawWithoutReplacement(other.sample, this.capacity - fromLeft, this.random);
      this.sample = [...left, ...right];
    }
    this.seenCount = total;
    this.missingCount += other.missingCount;
    return this;
  }

  /** Whether the sample is every value seen (then Evidently's numbers are exact). */
  get exact(): boolean {
    return this.seenCount <= this.capacity;
  }

  /** Non-missing values seen. */
  get seen(): number {
    return this.seenCount;
  }

  /** Missing values seen. */
  get missing(): number {
    return this.missingCount;
  }

  /** The sampled values (all of them while exact, in arrival order). */
  get values(): readonly number[] {
    return this.sample;
  }

  /** The plain-JSON form, for Kafka partials and checkpoints. */
  toJSON(): ReservoirStateJson {
    return {
      type: 'reservoir',
      capacity: this.capacity,
      seen: this.seenCount,
      missing: this.missingCount,
      values: [...this.sample],
      random: this.random.toJSON(),
    };
  }
}
