/**
 * The training evaluation against scikit-learn, the reference these figures are defined by: on
 * seeded random predictions of 4 classes (one of them never predicted), accuracy, per-class
 * precision, recall and F1, macro F1 and the confusion matrix equal `sklearn.metrics`' to 1e-12.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Random } from '../../src/drift/state/random.js';
import { evaluate } from '../../src/training/evaluation.js';
import { requirePytools, runPython } from '../helpers/pytools.js';

test('accuracy, per-class precision/recall/F1, macro F1 and the confusion matrix equal scikit-learn\'s', async (t) => {
  if (!(await requirePytools(t))) return;
  const r = Random.fromSeed(12);
  const classes = ['horse', 'human', 'dog', 'cat'];
  const truth: number[] = [];
  const probabilities: number[][] = [];
  for (let i = 0; i < 500; i++) {
    const label = r.below(4);
    truth.push(label);
    // Mostly right, sometimes wrong, never `cat`.
    const p = [r.nextDouble(), r.nextDouble(), r.nextDouble(), 0];
    if (label < 3 && r.nextDouble() < 0.7) p[label] = (p[label] as number) + 1;
    const sum = p.reduce((a, b) => a + b, 0);
    probabilities.push(p.map((x) => x / sum));
  }
  const ours = evaluate(probabilities, truth, classes);
  const predicted = probabilities.map((p) => p.indexOf(Math.max(...p)));
  const reference = JSON.parse(
    await runPython(
      `import sys, json
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support
y, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
labels = [0, 1, 2, 3]
precision, recall, f1, support = precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
print(json.dumps({"accuracy": accuracy_score(y, p), "macro": f1_score(y, p, labels=labels, average="macro", zero_division=0),
  "precision": precision.tolist(), "recall": recall.tolist(), "f1": f1.tolist(), "support": support.tolist(),
  "confusion": confusion_matrix(y, p, labels=labels).tolist()}))`,
      [JSON.stringify(truth), JSON.stringify(predicted)],
    ),
  ) as { accuracy: number; macro: number; precision: number[]; recall: number[]; f1: number[]; support: number[]; confusion: number[][] };
  const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) < 1e-12, `${what}: ${a} vs scikit-learn ${b}`);
  close(ours.accuracy as number, reference.accuracy, 'accuracy');
  close(ours.macroF1 as number, reference.macro, 'macro F1');
  assert.deepEqual(ours.confusion, reference.confusion);
  classes.forEach((c, i) => {
    const m = ours.perClass[c]!;
    assert.equal(m.support, reference.support[i]);
    // scikit-learn reports an undefined precision (a class never predicted) as 0 with zero_division=0.
    close(m.precision ?? 0, reference.precision[i]!, `${c} precision`);
    close(m.recall ?? 0, reference.recall[i]!, `${c} recall`);
    close(m.f1 ?? 0, reference.f1[i]!, `${c} F1`);
  });
  assert.equal(ours.perClass.cat?.precision, null, 'ours says undefined where scikit-learn says 0');
});
