/**
 * The blessing policy: whether a candidate head may replace production, judged on the same holdout
 * the way TFX's Evaluator does — no regression on what production already knows (macro F1 over
 * production's classes not below production's by more than a tolerance), every known class's
 * recall above a floor, every new class's recall above its own floor, and enough holdout examples
 * of each class to judge at all. Every check is reported with its figure and threshold, passed or
 * not, so a refusal says why.
 */
import type { Evaluation } from './evaluation.js';

/** The thresholds. */
export interface BlessingPolicy {
  /** The candidate's macro F1 over production's classes may be at most this much below production's. */
  readonly maxMacroF1Drop: number;
  /** Recall floor of each class production knows. */
  readonly minRecall: number;
  /** Recall floor of each class the candidate adds. */
  readonly minNewClassRecall: number;
  /** Fewest holdout examples of a class for its figures to count. */
  readonly minHoldoutPerClass: number;
}

/** The defaults: within 0.01 macro F1, recall ≥ 0.8 for every class, at least 5 holdout examples each. */
export const DEFAULT_BLESSING: BlessingPolicy = { maxMacroF1Drop: 0.01, minRecall: 0.8, minNewClassRecall: 0.8, minHoldoutPerClass: 5 };

/** One check of the policy. */
export interface BlessingCheck {
  readonly check: string;
  readonly value: number | null;
  readonly threshold: number;
  readonly passed: boolean;
}

/** The verdict with every check. */
export interface Blessing {
  readonly blessed: boolean;
  readonly policy: BlessingPolicy;
  readonly checks: readonly BlessingCheck[];
  /** Macro F1 over production's classes, candidate and production. */
  readonly knownMacroF1: { readonly candidate: number | null; readonly production: number | null };
}

/** Macro F1 over `classes` with holdout examples (a class with examples but no prediction counts 0, as scikit-learn does). */
export function macroF1Over(e: Evaluation, classes: readonly string[]): number | null {
  const f1s = classes.filter((c) => (e.perClass[c]?.support ?? 0) > 0).map((c) => e.perClass[c]?.f1 ?? 0);
  return f1s.length === 0 ? null : f1s.reduce((a, b) => a + b, 0) / f1s.length;
}

/** Judges `candidate` against `production` (both over the candidate's classes, same holdout); `known` are production's classes. */
export function bless(candidate: Evaluation, production: Evaluation, known: readonly string[], policy: BlessingPolicy = DEFAULT_BLESSING): Blessing {
  const checks: BlessingCheck[] = [];
  const knownSet = new Set(known);
  for (const c of candidate.classes) {
    const support = candidate.perClass[c]?.support ?? 0;
    checks.push({ check: `holdout examples of ${c}`, value: support, threshold: policy.minHoldoutPerClass, passed: support >= policy.minHoldoutPerClass });
  }
  const candidateF1 = macroF1Over(candidate, known);
  const productionF1 = macroF1Over(production, known);
  const floor = productionF1 === null ? 0 : productionF1 - policy.maxMacroF1Drop;
  checks.push({ check: 'macro F1 over the classes production knows', value: candidateF1, threshold: floor, passed: candidateF1 !== null && candidateF1 >= floor - 1e-12 });
  for (const c of candidate.classes) {
    const isNew = !knownSet.has(c);
    const recall = candidate.perClass[c]?.recall ?? null;
    const threshold = isNew ? policy.minNewClassRecall : policy.minRecall;
    checks.push({ check: `recall of ${isNew ? 'new class ' : ''}${c}`, value: recall, threshold, passed: recall !== null && recall >= threshold });
  }
  return { blessed: checks.every((c) => c.passed), policy, checks, knownMacroF1: { candidate: candidateF1, production: productionF1 } };
}
