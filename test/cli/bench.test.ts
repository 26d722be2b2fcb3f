/**
 * `centaur bench` smoke: the decode and files scenarios run end to end with tiny counts (so the harness never
 * rots) and writes the JSON and Markdown it promises; under CI the Pillow reference runs too (the
 * test readers' Python has Pillow) and the jpeg-turbo paths are measured. Figures are not asserted:
 * numbers come from full runs on a quiet machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DecodeBenchResult } from '../../src/bench/decode-scenario.js';
import type { DriftBenchResult } from '../../src/bench/drift-scenario.js';
import type { FilesBenchResult } from '../../src/bench/files-scenario.js';
import type { SweepResult } from '../../src/bench/sweep.js';
import { main } from '../../src/cli/main.js';
import { PYTOOLS_PYTHON } from '../helpers/pytools.js';

test('bench decode: tiny counts, a table, JSON with every path and the reference, and Markdown', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
  const python = await access(PYTOOLS_PYTHON).then(() => PYTOOLS_PYTHON, () => undefined);
  if (process.env.CI === 'true') assert.ok(python !== undefined, `CI has the test readers' Python (${PYTOOLS_PYTHON})`);
  let out = '';
  const code = await main(
    ['bench', 'decode', '--images', '4', '--runs', '1', '--cache', path.join(dir, 'cache'), '--json', path.join(dir, 'r.json'), '--markdown', path.join(dir, 'r.md'), ...(python === undefined ? [] : ['--python', python])],
    { out: (t) => (out += `${t}\n`), err: () => undefined },
  );
  assert.equal(code, 0, out);
  const result = JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as DecodeBenchResult;
  assert.equal(result.images, 4);
  const names = result.paths.map((p) => p.name);
  assert.ok(names.includes('decode-image, decoder: sharp'));
  if (process.env.CI === 'true') assert.ok(names.includes('decode-image, decoder: jpeg-turbo'), 'CI builds the jpeg-turbo addon');
  for (const p of result.paths) assert.ok(p.median > 0 && p.runs.length === 1, p.name);
  if (python !== undefined) assert.ok(!('skipped' in result.reference), `the Pillow reference ran: ${JSON.stringify(result.reference)}`);
  if (names.includes('decode-image, decoder: jpeg-turbo')) {
    // The two decoders differ (DCT-domain scaling, then Pillow's filter) but agree closely on average.
    const d = result.pixelDifference;
    assert.ok(d !== null && d.max > 0 && d.mean < 1.5 && d.differing < 0.9, JSON.stringify(d));
    assert.match(out, /jpeg-turbo vs sharp, same images: max \|difference\| \d+ of 255, mean \d\.\d{3}/);
  }
  assert.match(out, /decoder: sharp/);
  assert.match(await readFile(path.join(dir, 'r.md'), 'utf8'), /^\| decode-image, decoder: sharp \| \d+ \[\d+–\d+\] \|/m);
});

test('bench files: tiny counts, the stages, the ceiling and the pipeline end to end, in JSON', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
  const python = await access(PYTOOLS_PYTHON).then(() => PYTOOLS_PYTHON, () => undefined);
  let out = '';
  const code = await main(
    ['bench', 'files', '--images', '8', '--runs', '1', '--batch', '4', '--cache', path.join(dir, 'cache'), '--json', path.join(dir, 'r.json'), '--html', path.join(dir, 'r.html'), ...(python === undefined ? [] : ['--python', python])],
    { out: (t) => (out += `${t}\n`), err: () => undefined },
  );
  assert.equal(code, 0, out);
  const result = JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as FilesBenchResult;
  assert.equal(result.images, 8);
  for (const f of [result.decodePerCore, result.inference, result.ceiling, result.endToEnd]) assert.ok(f.median > 0);
  // The ceiling is what the measured stages allow on these cores.
  const best = Math.max(result.decodePerCore.median, result.referenceDecodePerCore?.median ?? 0);
  assert.ok(Math.abs(result.ceiling.median - 1 / (1 / (result.cores * best) + 1 / result.inference.median)) < 1e-6);
  assert.ok(Math.abs(result.ofCeiling.median - result.endToEnd.median / result.ceiling.median) < 1e-9);
  if (python !== undefined) assert.ok(result.referenceDecodePerCore !== null, 'the Pillow reference ran');
  assert.match(out, /end to end ÷ ceiling/);
  // The HTML page: one bar per measured figure, each labelled with its median, and the table.
  const html = await readFile(path.join(dir, 'r.html'), 'utf8');
  const bars = (python === undefined ? 4 : 5);
  assert.equal(html.match(/<rect [^>]*class="bar"/g)?.length, bars);
  assert.ok(html.includes(`>${result.endToEnd.median.toPrecision(4)}</text>`));
  assert.match(html, /<pre>files: 8 images/);
});

test('bench: an unknown scenario or a bad count is a usage error (exit 2)', async () => {
  let err = '';
  const io = { out: () => undefined, err: (t: string) => (err += t) };
  assert.equal(await main(['bench', 'kafkaa'], io), 2);
  assert.match(err, /unknown scenario `kafkaa`; scenarios: decode, files, kafka, clients, drift, compare/);
  assert.equal(await main(['bench', 'drift', '--window-sizes', '100,x'], io), 2);
  assert.match(err, /--window-sizes must list whole numbers ≥ 2/);
  assert.equal(await main(['bench', 'drift', '--trigger-windows', '0'], io), 2);
  assert.match(err, /--trigger-windows must be a whole number ≥ 1/);
  assert.equal(await main(['bench', 'drift', '--false-alarm-rate', '0.7'], io), 2);
  assert.match(err, /--false-alarm-rate must be in \(0, 0\.5\)/);
  assert.equal(await main(['bench', 'decode', '--runs', '0'], io), 2);
  assert.match(err, /--runs must be an integer ≥ 1/);
  assert.equal(await main(['bench', 'files', '--sweep', 'threads=1'], io), 2);
  assert.match(err, /--sweep threads=1: give axis=v1,v2,…/);
  assert.equal(await main(['bench', 'decode', '--sweep', 'batch=1,2'], io), 2);
  assert.match(err, /use it with files or kafka/);
  assert.equal(await main(['bench', 'compare', 'only-one.json'], io), 2);
  assert.match(err, /give two result files/);
});

test('bench files --sweep: every combination measured, ranked, the best recommended; bench compare reads two results', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
  let out = '';
  const io = { out: (t: string) => (out += `${t}\n`), err: () => undefined };
  const args = ['bench', 'files', '--images', '8', '--runs', '1', '--cache', path.join(dir, 'cache')];
  assert.equal(await main([...args, '--sweep', 'batch=2,4', '--sweep', 'max-delay=5', '--json', path.join(dir, 's.json')], io), 0, out);
  const sweep = JSON.parse(await readFile(path.join(dir, 's.json'), 'utf8')) as SweepResult;
  assert.deepEqual(sweep.rows.map((r) => r.settings.batch).sort(), [2, 4]);
  assert.ok(sweep.rows.every((r) => r.settings.maxDelayMs === 5 && r.imagesPerSecond.median > 0));
  assert.ok((sweep.rows[0]?.imagesPerSecond.median ?? 0) >= (sweep.rows[1]?.imagesPerSecond.median ?? 0), 'best first');
  assert.match(out, new RegExp(`recommended: --batch ${sweep.rows[0]?.settings.batch ?? -1} --max-delay 5 `));
  out = '';
  assert.equal(await main(['bench', 'compare', path.join(dir, 's.json'), path.join(dir, 's.json')], io), 0);
  assert.match(out, /^rows\[\d\]\.imagesPerSecond .* 1\.000 \(within spread\)$/m);
});

test('bench drift: tiny counts, both modes, calibrated against Evidently\'s fixed thresholds, every shift, JSON and Markdown', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-drift-'));
  let out = '';
  const code = await main(
    ['bench', 'drift', '--reference', '400', '--pool', '150', '--shift-pool', '40', '--window-sizes', '20', '--windows', '10', '--seeds', '1', '--trigger-windows', '30', '--repeats', '1', '--calibration-windows', '200', '--cache', path.join(dir, 'cache'), '--json', path.join(dir, 'r.json'), '--markdown', path.join(dir, 'r.md')],
    { out: (t) => (out += `${t}\n`), err: () => undefined },
  );
  assert.equal(code, 0, out);
  const result = JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as DriftBenchResult;
  assert.equal(result.images.reference, 400);
  assert.equal(result.calibration.heldOut, 100, 'five times the window held out');
  assert.deepEqual(result.stationary.map((s) => `${s.mode}/${s.thresholds}`), ['evidently/calibrated', 'evidently/evidently', 'streaming/calibrated', 'streaming/evidently', 'streaming/jensenshannon']);
  for (const mode of ['evidently', 'streaming']) {
    const calibrated = result.stationary.find((s) => s.mode === mode && s.thresholds === 'calibrated')!;
    const fixed = result.stationary.find((s) => s.mode === mode && s.thresholds === 'evidently')!;
    // Evidently's 0.2 on 1,280-d centroids of 20 images alarms on every stationary window; the calibrated one does not.
    assert.equal(fixed.pooled.embedding, 100);
    assert.ok(calibrated.pooled.embedding <= 30, `${mode}: calibrated embedding alarms ${calibrated.pooled.embedding} per 100`);
  }
  assert.deepEqual([...new Set(result.shifts.map((s) => s.shift))], ['brightness −30 %', 'blur', 'camera 640×480', 'new class 10 %', 'new class 33 %']);
  for (const s of result.shifts.filter((x) => x.shift === 'camera 640×480')) assert.equal(s.condition.median, 1, `${s.mode}: a camera of another size is seen in its first window`);
  assert.equal(result.trigger.length, 2);
  assert.match(await readFile(path.join(dir, 'r.md'), 'utf8'), /\| shift \| mode \| window \|/);
  assert.match(out, /Stationary streams: alarms per 100 windows/);
});
