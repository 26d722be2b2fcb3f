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
import type { FilesBenchResult } from '../../src/bench/files-scenario.js';
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
  assert.match(out, /decoder: sharp/);
  assert.match(await readFile(path.join(dir, 'r.md'), 'utf8'), /^\| decode-image, decoder: sharp \| \d+ \[\d+–\d+\] \|/m);
});

test('bench files: tiny counts, the stages, the ceiling and the pipeline end to end, in JSON', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-'));
  const python = await access(PYTOOLS_PYTHON).then(() => PYTOOLS_PYTHON, () => undefined);
  let out = '';
  const code = await main(
    ['bench', 'files', '--images', '8', '--runs', '1', '--batch', '4', '--cache', path.join(dir, 'cache'), '--json', path.join(dir, 'r.json'), ...(python === undefined ? [] : ['--python', python])],
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
});

test('bench: an unknown scenario or a bad count is a usage error (exit 2)', async () => {
  let err = '';
  const io = { out: () => undefined, err: (t: string) => (err += t) };
  assert.equal(await main(['bench', 'kafkaa'], io), 2);
  assert.match(err, /unknown scenario `kafkaa`; scenarios: decode, files/);
  assert.equal(await main(['bench', 'decode', '--runs', '0'], io), 2);
  assert.match(err, /--runs must be an integer ≥ 1/);
});
