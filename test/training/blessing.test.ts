/**
 * The blessing policy: no regression on production's classes beyond the tolerance, recall floors
 * for known and new classes, enough holdout examples to judge; every failed check is named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bless, DEFAULT_BLESSING, macroF1Over } from '../../src/training/blessing.js';
import { evaluate } from '../../src/training/evaluation.js';

const classes = ['horse', 'human', 'dog'];
/** One-hot answers: `answers[i]` predicted for truth `truth[i]`. */
const judge = (truth: number[], answers: number[]) => evaluate(answers.map((a) => Float64Array.from(classes, (_, c) => (c === a ? 1 : 0))), truth, classes);
const truth: number[] = [0, 1, 2].flatMap((c) => new Array<number>(10).fill(c));

test('a candidate as good on known classes and good on the new one is blessed', () => {
  const production = judge(truth, truth.map((t) => (t === 2 ? 0 : t)));
  const candidate = judge(truth, truth.map((t, i) => (i === 25 ? 0 : t)));
  const b = bless(candidate, production, ['horse', 'human']);
  assert.equal(b.blessed, true, JSON.stringify(b.checks));
  assert.ok((b.knownMacroF1.candidate ?? 0) >= (b.knownMacroF1.production ?? 1));
});

test('a regression on a known class beyond the tolerance, or a weak new class, is refused and named', () => {
  const production = judge(truth, truth.map((t) => (t === 2 ? 0 : t)));
  const worseOnHuman = judge(truth, truth.map((t, i) => (t === 1 && i < 14 ? 0 : t)));
  const b = bless(worseOnHuman, production, ['horse', 'human']);
  assert.equal(b.blessed, false);
  assert.deepEqual(b.checks.filter((c) => !c.passed).map((c) => c.check).sort(), ['macro F1 over the classes production knows', 'recall of human']);
  const weakDog = judge(truth, truth.map((t, i) => (t === 2 && i < 24 ? 0 : t)));
  assert.deepEqual(bless(weakDog, production, ['horse', 'human']).checks.filter((c) => !c.passed).map((c) => c.check), ['recall of new class dog']);
});

test('too few holdout examples of a class cannot be judged', () => {
  const few = [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2];
  const e = judge(few, few);
  const b = bless(e, e, ['horse', 'human'], DEFAULT_BLESSING);
  assert.equal(b.blessed, false);
  assert.deepEqual(b.checks.filter((c) => !c.passed).map((c) => c.check), ['holdout examples of dog']);
  assert.equal(macroF1Over(e, ['horse', 'human']), 1);
});
