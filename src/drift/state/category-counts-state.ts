/**
 * Window state for categorical columns in either mode: the count of each category and of missing
 * values. Counts are all that chi-square, Z, PSI, KL and Jensen–Shannon need for categories, so this
 * state is exact in `evidently` mode too, and merges exactly in any order.
 */
import { comparePython } from '../categories.js';
import { DriftInputError } from '../errors.js';
import type { Category, CategoryValue } from '../types.js';

/** The plain-JSON form: [category, count] pairs (keeping 1 and '1' apart), sorted as Python sorts them. */
export interface CategoryCountsStateJson {
  readonly type: 'category-counts';
  readonly counts: readonly (readonly [Category, number])[];
  readonly missing: number;
}

/** Mergeable counts per category; why: exact categorical drift over windows and instances. */
export class CategoryCountsState {
  private readonly countsByCategory = new Map<Category, number>();
  private missingCount = 0;

  /** A state read back from its JSON form, checked. */
  static fromJSON(json: CategoryCountsStateJson): CategoryCountsState {
    if (json.type !== 'category-counts') throw new DriftInputError(`expected a category-counts state, got ${String(json.type)}`);
    const state = new CategoryCountsState();
    for (const entry of json.counts) {
      const [category, count] = entry;
      const validCategory = typeof category === 'string' || (typeof category === 'number' && Number.isFinite(category));
      if (!validCategory || !Number.isSafeInteger(count) || count <= 0 || state.countsByCategory.has(category)) {
        throw new DriftInputError('category-counts state: each entry is a distinct category with a positive integer count');
      }
      state.countsByCategory.set(category, count);
    }
    if (!Number.isSafeInteger(json.missing) || json.missing < 0) {
      throw new DriftInputError('category-counts state: missing must be a non-negative integer');
    }
    state.missingCount = json.missing;
    return state;
  }

  /** Counts one value (null, undefined, NaN and ±Infinity as missing). */
  add(value: CategoryValue): void {
    if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
      const key = value === 0 ? 0 : value;
      this.countsByCategory.set(key, (this.countsByCategory.get(key) ?? 0) + 1);
    } else {
      this.missingCount += 1;
    }
  }

  /** Counts every value. */
  addAll(values: Iterable<CategoryValue>): void {
    for (const v of values) this.add(v);
  }

  /** Adds another partial's counts into this one and returns this. */
  merge(other: CategoryCountsState): this {
    for (const [category, count] of other.countsByCategory) {
      this.countsByCategory.set(category, (this.countsByCategory.get(category) ?? 0) + count);
    }
    this.missingCount += other.missingCount;
    return this;
  }

  /** The count of one category (0 if never seen). */
  get(category: Category): number {
    return this.countsByCategory.get(category) ?? 0;
  }

  /** Values counted (missing ones excluded). */
  get count(): number {
    let total = 0;
    for (const c of this.countsByCategory.values()) total += c;
    return total;
  }

  /** Missing values seen. */
  get missing(): number {
    return this.missingCount;
  }

  /** The categories seen, in Python's sorted order. */
  categories(): Category[] {
    return [...this.countsByCategory.keys()].sort(comparePython);
  }

  /** The plain-JSON form, for Kafka partials and checkpoints. */
  toJSON(): CategoryCountsStateJson {
    return {
      type: 'category-counts',
      counts: this.categories().map((c) => [c, this.countsByCategory.get(c)!] as const),
      missing: this.missingCount,
    };
  }
}
