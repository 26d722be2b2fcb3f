/** The shared vocabulary of the drift library: column kinds, values, method ids and results. */

/** Evidently's column types that drift applies to (text columns are not supported). */
export type ColumnKind = 'numerical' | 'categorical';

/** A numerical value as it arrives; null, undefined, NaN and ±Infinity count as missing. */
export type NumericValue = number | null | undefined;

/** A category: strings and numbers are distinct (1 ≠ '1'), as in pandas; null, undefined, NaN and ±Infinity count as missing. */
export type CategoryValue = string | number | null | undefined;

/** A category after missing values are dropped. */
export type Category = string | number;

/** Evidently's registered names of the data drift methods. */
export type DriftMethodId = 'ks' | 'chisquare' | 'z' | 'psi' | 'kl_div' | 'jensenshannon' | 'wasserstein';

/** One column's reference and current values, tagged with its kind. */
export type ColumnData =
  | {
      readonly kind: 'numerical';
      readonly reference: readonly NumericValue[];
      readonly current: readonly NumericValue[];
      /** The values are of an integer dtype (numpy then never makes Sturges bins narrower than 1). */
      readonly integer?: boolean;
    }
  | {
      readonly kind: 'categorical';
      readonly reference: readonly CategoryValue[];
      readonly current: readonly CategoryValue[];
    };

/** Cleaned data a method runs on: missing values dropped, both samples non-empty. */
export type CleanColumn =
  | { readonly kind: 'numerical'; readonly reference: readonly number[]; readonly current: readonly number[]; readonly integer: boolean }
  | { readonly kind: 'categorical'; readonly reference: readonly Category[]; readonly current: readonly Category[] };

/** What a drift method computes: Evidently's drift score, and the test statistic where there is one. */
export interface MethodScore {
  /** The drift score Evidently reports: a p-value (ks, chisquare, z) or a distance. */
  readonly score: number;
  /** The test statistic behind a p-value (K-S D, chi-square χ², Z), when the method has one. */
  readonly statistic?: number;
}

/** One column's drift, as Evidently's ValueDrift reports it. */
export interface ColumnDriftResult {
  readonly kind: ColumnKind;
  readonly method: DriftMethodId;
  /** Evidently's display name of the method, e.g. "K-S p_value". */
  readonly displayName: string;
  readonly score: number;
  readonly statistic?: number;
  readonly threshold: number;
  readonly drifted: boolean;
  /** Values used after dropping missing ones. */
  readonly referenceSize: number;
  readonly currentSize: number;
}
