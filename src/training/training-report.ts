/**
 * The report of one training, as the files a reviewer reads: `report.json` (counts, candidate and
 * production on the same holdout, the blessing with every check), `report.md` (the same as tables)
 * and `confusion.svg` (the candidate's confusion matrix).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Blessing } from './blessing.js';
import { confusionSvg } from './confusion-svg.js';
import type { Evaluation } from './evaluation.js';
import type { TrainFromSetResult } from './train-from-set.js';

/** The report's JSON form. */
export interface TrainingReport {
  readonly model: string;
  readonly version: string;
  readonly parentVersion: string;
  readonly trainingSet: { readonly uri: string; readonly contentHash: string; readonly rows: number };
  readonly classes: readonly string[];
  readonly newClasses: readonly string[];
  readonly counts: TrainFromSetResult['counts'];
  readonly skipped: TrainFromSetResult['skipped'];
  readonly candidate: Evaluation;
  readonly production: Evaluation;
  readonly blessing: Blessing;
  readonly bestEpoch: number;
  readonly epochs: number;
  readonly trainingSeconds: number;
}

/** The report files' names, for artifact lists. */
export const REPORT_FILES = ['report.json', 'report.md', 'confusion.svg'] as const;

/** Writes report.json, report.md and confusion.svg into `dir`. */
export async function writeTrainingReport(dir: string, report: TrainingReport): Promise<void> {
  await writeFile(path.join(dir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(path.join(dir, 'report.md'), reportMarkdown(report));
  await writeFile(path.join(dir, 'confusion.svg'), confusionSvg(report.classes, report.candidate.confusion, `${report.model} version ${report.version}: holdout confusion matrix`));
}

function pct(x: number | null): string {
  return x === null ? '–' : `${(x * 100).toFixed(1)} %`;
}

function num(x: number | null): string {
  return x === null ? '–' : x.toFixed(3);
}

/** The report as markdown: the verdict and its checks, both models' figures per class, the confusion matrix. */
export function reportMarkdown(r: TrainingReport): string {
  const row = (name: string, c: Evaluation, p: Evaluation): string => {
    const a = c.perClass[name];
    const b = p.perClass[name];
    return `| ${name} | ${a?.support ?? 0} | ${num(a?.precision ?? null)} / ${num(b?.precision ?? null)} | ${num(a?.recall ?? null)} / ${num(b?.recall ?? null)} | ${num(a?.f1 ?? null)} / ${num(b?.f1 ?? null)} |`;
  };
  return [
    `# ${r.model} version ${r.version}: head training report`,
    '',
    `**${r.blessing.blessed ? 'Blessed' : 'Not blessed'}** against version ${r.parentVersion} on the same holdout. Training set \`${r.trainingSet.uri}\` (content hash \`${r.trainingSet.contentHash}\`, ${r.trainingSet.rows} rows); classes ${r.classes.join(', ')}${r.newClasses.length > 0 ? ` (new: ${r.newClasses.join(', ')})` : ''}; epoch ${r.bestEpoch} of ${r.epochs} kept, ${r.trainingSeconds.toFixed(1)} s.`,
    '',
    '| check | value | threshold | passed |',
    '|---|---|---|---|',
    ...r.blessing.checks.map((c) => `| ${c.check} | ${c.value === null ? '–' : Number.isInteger(c.value) ? c.value : c.value.toFixed(3)} | ${Number.isInteger(c.threshold) ? c.threshold : c.threshold.toFixed(3)} | ${c.passed ? 'yes' : '**no**'} |`),
    '',
    `| holdout | candidate | production |`,
    `|---|---|---|`,
    `| examples | ${r.candidate.examples} | ${r.production.examples} |`,
    `| accuracy | ${pct(r.candidate.accuracy)} | ${pct(r.production.accuracy)} |`,
    `| macro F1, all classes | ${num(r.candidate.macroF1)} | ${num(r.production.macroF1)} |`,
    `| macro F1, production's classes | ${num(r.blessing.knownMacroF1.candidate)} | ${num(r.blessing.knownMacroF1.production)} |`,
    `| expected calibration error | ${num(r.candidate.ece)} | ${num(r.production.ece)} |`,
    '',
    '| class | holdout examples | precision (candidate / production) | recall | F1 |',
    '|---|---|---|---|---|',
    ...r.classes.map((c) => row(c, r.candidate, r.production)),
    '',
    'Confusion matrix of the candidate (rows: true class, columns: predicted; picture: confusion.svg):',
    '',
    `| | ${r.classes.join(' | ')} |`,
    `|---|${r.classes.map(() => '---').join('|')}|`,
    ...r.candidate.confusion.map((line, i) => `| ${r.classes[i]} | ${line.join(' | ')} |`),
    '',
  ].join('\n');
}
