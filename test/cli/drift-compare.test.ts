/**
 * `centaur drift compare` and `centaur drift profile` from the command line: Evidently's numbers on
 * its own fixtures (as JSONL), brightness drift between two image folders, the JSON shape, exit
 * statuses, JSONL feature records (prediction records), bad lines, and profiles without `saturation`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/main.js';
import type { DriftComparison } from '../../src/cli/drift-compare.js';
import { generateImages } from '../../src/demo/generate-images.js';
import type { Envelope } from '../../src/core/envelope.js';
import { toPredictionRecord } from '../../src/formats/prediction-record.js';
import { agrees, evidentlyFixtures } from '../drift/fixtures.js';
import type { FixtureValue } from '../drift/fixtures.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) };
  const code = await main(argv, io);
  return { code, out, err };
}

const dir = await mkdtemp(path.join(tmpdir(), 'centaur-drift-cli-'));
test.after(() => rm(dir, { recursive: true, force: true }));

/** JSONL of one record per row; missing and non-finite values (strings in the fixtures) are null. */
function jsonl(columns: Readonly<Record<string, readonly FixtureValue[]>>): string {
  const rows = Math.max(...Object.values(columns).map((v) => v.length));
  const lines: string[] = [];
  for (let i = 0; i < rows; i += 1) {
    const record: Record<string, FixtureValue> = {};
    for (const [name, values] of Object.entries(columns)) {
      const v = values[i];
      record[name] = v === 'NaN' || v === 'Infinity' || v === '-Infinity' || v === undefined ? null : v;
    }
    lines.push(JSON.stringify(record));
  }
  return `${lines.join('\n')}\n`;
}

test("compare: on Evidently's fixtures, the JSON report equals Evidently's DataDriftPreset (1e-9 relative)", async () => {
  const fixtures = evidentlyFixtures();
  assert.ok(fixtures.length >= 8, 'the Evidently fixtures are there');
  let checked = 0;
  for (const fixture of fixtures) {
    for (const [r, run] of fixture.runs.entries()) {
      const reference: Record<string, readonly FixtureValue[]> = {};
      const current: Record<string, readonly FixtureValue[]> = {};
      const args: string[] = [];
      const categorical: string[] = [];
      for (const c of run.columns) {
        const series = fixture.series[c.series]!;
        reference[c.column] = series.reference;
        current[c.column] = series.current ?? fixture.series[series.currentSameAs!]!.current!;
        if (series.kind === 'categorical') categorical.push(c.column);
        if (c.method !== null) args.push('--method', `${c.column}=${c.method}`);
        if (c.threshold !== null) args.push('--threshold', `${c.column}=${c.threshold}`);
      }
      const ref = path.join(dir, `${fixture.name}-${r}-reference.jsonl`);
      const cur = path.join(dir, `${fixture.name}-${r}-current.jsonl`);
      await writeFile(ref, jsonl(reference));
      await writeFile(cur, jsonl(current));
      const names = run.columns.map((c) => c.column);
      const result = await cli('drift', 'compare', '--reference', ref, '--current', cur, '--format', 'json', '--columns', names.join(','), ...(categorical.length > 0 ? ['--categorical', categorical.join(',')] : []), '--drift-share', String(run.driftShare), ...args);
      const where = `${fixture.name} run ${r}`;
      assert.equal(result.code, run.expected.datasetDrift ? 1 : 0, `${where}: ${result.err}`);
      const report = JSON.parse(result.out) as DriftComparison;
      assert.deepEqual(report.columns.map((c) => c.name), names, where);
      for (const c of run.columns) {
        const got = report.columns.find((x) => x.name === c.column)!;
        const w = `${where} ${c.column}`;
        assert.equal(got.method, c.expected.method, w);
        assert.equal(got.displayName, c.expected.displayName, w);
        // JSON has no NaN: a NaN score (chi-square on one value) is written as null.
        const score = got.score === null ? Number.NaN : got.score;
        assert.ok(agrees(score, c.expected.score), `${w}: score ${score}, Evidently ${c.expected.score}`);
        assert.equal(got.threshold, c.expected.threshold, w);
        assert.equal(got.drifted, c.expected.drifted, w);
        checked += 1;
      }
      assert.equal(report.dataset.numberOfColumns, run.expected.numberOfColumns, where);
      assert.equal(report.dataset.numberOfDriftedColumns, run.expected.numberOfDriftedColumns, where);
      assert.ok(agrees(report.dataset.shareOfDriftedColumns, run.expected.shareOfDriftedColumns), where);
      assert.equal(report.dataset.datasetDrift, run.expected.datasetDrift, where);
    }
  }
  assert.ok(checked >= 100, `${checked} columns checked`);
});

/** Two image folders: the same generated images, and the same again made darker (pixel values × 0.6). */
async function imageFolders(): Promise<{ reference: string; darker: string; same: string }> {
  const reference = path.join(dir, 'images-reference');
  const same = path.join(dir, 'images-same');
  const darker = path.join(dir, 'images-darker');
  await generateImages({ outDir: reference, count: 24, seed: 3, width: 48, height: 36, quality: 90, classes: ['horse', 'human'] });
  await generateImages({ outDir: same, count: 24, seed: 4, width: 48, height: 36, quality: 90, classes: ['horse', 'human'] });
  for (const cls of await readdir(reference)) {
    await mkdir(path.join(darker, cls), { recursive: true });
    for (const file of await readdir(path.join(reference, cls))) {
      await sharp(path.join(reference, cls, file)).linear(0.6, 0).jpeg({ quality: 90 }).toFile(path.join(darker, cls, file));
    }
  }
  return { reference, darker, same };
}
const folders = imageFolders();

test('compare: a folder of darker images shows brightness drift in the table, with exit status by dataset drift', async () => {
  const { reference, darker, same } = await folders;
  const r = await cli('drift', 'compare', '--reference', reference, '--current', darker);
  assert.ok(r.code === 0 || r.code === 1, r.err);
  const row = r.out.split('\n').find((l) => l.startsWith('brightness'));
  assert.ok(row !== undefined, r.out);
  assert.match(row, /^brightness\s+numerical\s+ks\s+\S+\s+0\.05\s+yes$/);
  assert.match(r.out, /^column\s+type\s+method\s+score\s+threshold\s+drifted$/m);
  assert.match(r.out, /^dataset drift: (YES|no) — \d+ of \d+ columns drifted/m);

  const json = await cli('drift', 'compare', '--reference', reference, '--current', darker, '--format', 'json', '--columns', 'brightness,saturation', '--drift-share', '0.5');
  assert.equal(json.code, 1, 'brightness of two columns drifts: share 0.5 is dataset drift');
  const report = JSON.parse(json.out) as DriftComparison;
  assert.equal(report.format, 'centaur-drift-comparison');
  assert.equal(report.version, 1);
  assert.deepEqual(report.reference, { source: reference, kind: 'images', rows: 24, unreadable: 0 });
  assert.equal(report.current.kind, 'images');
  const brightness = report.columns.find((c) => c.name === 'brightness')!;
  assert.equal(brightness.method, 'ks');
  assert.equal(brightness.drifted, true);
  assert.ok(brightness.score < 1e-6, `p-value ${brightness.score}`);
  assert.equal(brightness.referenceSize, 24);
  assert.deepEqual(Object.keys(report.dataset).sort(), ['datasetDrift', 'driftShare', 'numberOfColumns', 'numberOfDriftedColumns', 'shareOfDriftedColumns']);
  assert.equal(report.dataset.datasetDrift, true);
  assert.equal(report.embedding, null);

  const quiet = await cli('drift', 'compare', '--reference', reference, '--current', same, '--format', 'json', '--columns', 'width,height,format');
  assert.equal(quiet.code, 0, quiet.err);
  assert.equal((JSON.parse(quiet.out) as DriftComparison).dataset.datasetDrift, false);
});

test('compare: a profile as reference gives the numbers of its folder; a profile without saturation still compares, without it', async () => {
  const { reference, darker } = await folders;
  const profileFile = path.join(dir, 'profile.json');
  const built = await cli('drift', 'profile', reference, '--out', profileFile);
  assert.equal(built.code, 0, built.err);
  const profile = JSON.parse(await readFile(profileFile, 'utf8')) as { features: Record<string, unknown> };
  assert.ok('saturation' in profile.features);

  const fromFolder = JSON.parse((await cli('drift', 'compare', '--reference', reference, '--current', darker, '--format', 'json')).out) as DriftComparison;
  const fromProfile = JSON.parse((await cli('drift', 'compare', '--reference', profileFile, '--current', darker, '--format', 'json')).out) as DriftComparison;
  assert.equal(fromProfile.reference.kind, 'profile');
  assert.deepEqual(fromProfile.columns, fromFolder.columns);

  delete profile.features.saturation;
  const old = path.join(dir, 'profile-without-saturation.json');
  await writeFile(old, JSON.stringify(profile));
  const r = await cli('drift', 'compare', '--reference', old, '--current', darker, '--format', 'json');
  assert.ok(r.code === 0 || r.code === 1, r.err);
  const report = JSON.parse(r.out) as DriftComparison;
  assert.ok(!report.columns.some((c) => c.name === 'saturation'));
  assert.deepEqual(report.skipped, [{ name: 'saturation', reason: 'not in the reference' }]);
  assert.equal(report.columns.length, fromFolder.columns.length - 1);
});

function predicted(i: number, label: 'horse' | 'human', brightness: number): Envelope {
  const horse = label === 'horse' ? 0.8 + (i % 7) / 100 : 0.1 + (i % 5) / 100;
  return {
    id: `img-${i}`,
    eventTime: 1_700_000_000_000 + i,
    position: { source: 'files', partition: '0', offset: i },
    payload: { kind: 'bytes', bytes: Buffer.alloc(0) },
    sizeBytes: 0,
    metadata: {},
    receivedAt: 0,
    timings: { infer: 1.5 },
    delivery: { acknowledge: () => undefined, deadLettered: () => undefined },
    image: { width: 320, height: 240, format: 'jpeg', brightness, contrast: 0.2 + (i % 3) / 100, sharpness: 0.01, saturation: 0.3 + (i % 4) / 100 },
    prediction: { label, classIndex: label === 'horse' ? 0 : 1, confidence: Math.max(horse, 1 - horse), probabilities: [horse, 1 - horse] },
    model: { name: 'demo', version: '3', classes: ['horse', 'human'] },
  };
}

test("profile: a JSONL of the files sink's prediction records gives a profile of image features and model outputs", async () => {
  const file = path.join(dir, 'predictions.jsonl');
  const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify(toPredictionRecord(predicted(i, i % 3 === 0 ? 'human' : 'horse', 0.3 + (i % 10) / 50), { includeEmbedding: false })));
  await writeFile(file, `${lines.join('\n')}\n`);
  const out = path.join(dir, 'predictions-profile.json');
  const r = await cli('drift', 'profile', file, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /40 records/);
  const profile = JSON.parse(await readFile(out, 'utf8')) as { model: unknown; classes: string[]; rows: number; features: Record<string, { kind: string; count: number }> };
  assert.deepEqual(profile.model, { name: 'demo', version: '3' });
  assert.deepEqual(profile.classes, ['horse', 'human']);
  assert.equal(profile.rows, 40);
  assert.deepEqual(Object.keys(profile.features), ['brightness', 'contrast', 'sharpness', 'saturation', 'width', 'height', 'format', 'class', 'confidence', 'probability.horse', 'probability.human']);
  assert.equal(profile.features.class!.kind, 'categorical');
  assert.equal(profile.features['probability.human']!.count, 40);

  // Yesterday's output against the profile: brighter images drift, the rest does not.
  const brighter = path.join(dir, 'predictions-brighter.jsonl');
  await writeFile(brighter, Array.from({ length: 40 }, (_, i) => JSON.stringify(toPredictionRecord(predicted(i, i % 3 === 0 ? 'human' : 'horse', 0.7 + (i % 10) / 50), { includeEmbedding: false }))).join('\n'));
  const c = await cli('drift', 'compare', '--reference', out, '--current', brighter, '--format', 'json');
  assert.equal(c.code, 0, c.err);
  const report = JSON.parse(c.out) as DriftComparison;
  assert.deepEqual(report.columns.filter((col) => col.drifted).map((col) => col.name), ['brightness']);
  assert.equal(report.current.kind, 'jsonl');
});

test('profile and compare: bad JSONL lines are skipped with their line numbers, or fail the command with --strict', async () => {
  const file = path.join(dir, 'flat.jsonl');
  const good = (b: number): string => JSON.stringify({ brightness: b, format: 'png', class: 'horse', confidence: 0.9, 'probability.horse': 0.9, 'probability.human': 0.1 });
  await writeFile(file, [good(0.1), good(0.2), '{"brightness": 0.3', '', good(0.4), '{"brightness": "dark"}', '[1, 2]', good(0.5)].join('\n'));
  const out = path.join(dir, 'flat-profile.json');
  const r = await cli('drift', 'profile', file, '--out', out);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /flat\.jsonl:3: skipped: not JSON/);
  assert.match(r.err, /flat\.jsonl:6: skipped: `brightness` must be a number or null, got "dark"/);
  assert.match(r.err, /flat\.jsonl:7: skipped: not a JSON object/);
  assert.match(r.err, /skipped 3 bad lines of 8/);
  const profile = JSON.parse(await readFile(out, 'utf8')) as { rows: number; classes: string[]; features: Record<string, unknown> };
  assert.equal(profile.rows, 4);
  assert.deepEqual(profile.classes, ['horse', 'human']);
  assert.deepEqual(Object.keys(profile.features), ['brightness', 'format', 'class', 'confidence', 'probability.horse', 'probability.human']);

  const strict = await cli('drift', 'profile', file, '--out', path.join(dir, 'never.json'), '--strict');
  assert.equal(strict.code, 2);
  assert.match(strict.err, /flat\.jsonl:3: not JSON/);
  const strictCompare = await cli('drift', 'compare', '--reference', out, '--current', file, '--strict');
  assert.equal(strictCompare.code, 2);
  assert.match(strictCompare.err, /flat\.jsonl:3: not JSON/);
});

test('compare: usage and input errors exit 2; --help documents the exit statuses', async () => {
  const { reference } = await folders;
  const profileFile = path.join(dir, 'profile-for-errors.json');
  assert.equal((await cli('drift', 'profile', reference, '--out', profileFile)).code, 0);
  const cases: [string[], RegExp][] = [
    [['--reference', reference], /required option '--current <path>'/],
    [['--reference', path.join(dir, 'nope'), '--current', reference], /does not exist/],
    [['--reference', reference, '--current', profileFile], /is a reference profile/],
    [['--reference', reference, '--current', reference, '--method', 'brightness=magic'], /unknown method `magic`/],
    [['--reference', reference, '--current', reference, '--method', 'format=ks'], /ks does not apply to categorical column `format`/],
    [['--reference', reference, '--current', reference, '--threshold', 'nothing=0.1'], /`nothing` is not a compared column/],
    [['--reference', reference, '--current', reference, '--columns', 'class'], /`class` has no values in the reference/],
    [['--reference', reference, '--current', reference, '--drift-share', '2'], /--drift-share must be a number from 0 to 1/],
    [['--reference', reference, '--current', reference, '--format', 'yaml'], /Allowed choices are table, json/],
  ];
  for (const [args, message] of cases) {
    const r = await cli('drift', 'compare', ...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.out}`);
    assert.match(r.err, message, args.join(' '));
  }
  const help = await cli('drift', 'compare', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /Exit status: 0 no dataset drift, 1 dataset drift, 2 usage or input error/);
});

test('compare: --method and --threshold apply to every column they fit, or to one column', async () => {
  const { reference, darker } = await folders;
  const r = await cli('drift', 'compare', '--reference', reference, '--current', darker, '--format', 'json', '--method', 'psi', '--method', 'brightness=wasserstein', '--threshold', '0.3', '--threshold', 'format=0.2');
  assert.ok(r.code === 0 || r.code === 1, r.err);
  const report = JSON.parse(r.out) as DriftComparison;
  const by = (name: string): DriftComparison['columns'][number] => report.columns.find((c) => c.name === name)!;
  assert.equal(by('brightness').method, 'wasserstein');
  assert.equal(by('brightness').threshold, 0.3);
  assert.equal(by('contrast').method, 'psi');
  assert.equal(by('format').method, 'psi');
  assert.equal(by('format').threshold, 0.2);
});

test('profile: calibrates on held-out records when there are enough, says so, and refuses bad calibration flags', async () => {
  const file = path.join(dir, 'calibrate.jsonl');
  const lines = Array.from({ length: 450 }, (_, i) => JSON.stringify({ brightness: 0.4 + ((i * 37) % 100) / 500, class: i % 3 === 0 ? 'human' : 'horse', confidence: 0.5 + ((i * 13) % 50) / 100 }));
  await writeFile(file, `${lines.join('\n')}\n`);
  const out = path.join(dir, 'calibrated-profile.json');
  const r = await cli('drift', 'profile', file, '--out', out, '--calibrate-sizes', '20,100', '--calibration-windows', '300');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /450 records .*calibrated at a false-alarm rate of 0\.01 on 100 held-out records for windows of 20/);
  assert.match(r.err, /windows of 100 not calibrated: they need 10 × their size in rows/);
  const profile = JSON.parse(await readFile(out, 'utf8')) as { version: number; rows: number; calibration: { heldOut: number; modes: { streaming: { sizes: { size: number; features: Record<string, unknown> }[] } } } };
  assert.equal(profile.version, 2);
  assert.equal(profile.rows, 350, 'the profile is built from the rows not held out');
  assert.deepEqual(profile.calibration.modes.streaming.sizes.map((s) => s.size), [20]);
  assert.deepEqual(Object.keys(profile.calibration.modes.streaming.sizes[0]!.features).sort(), ['brightness', 'class', 'confidence']);
  const plain = await cli('drift', 'profile', file, '--out', path.join(dir, 'plain-profile.json'), '--no-calibrate');
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /not calibrated \(--no-calibrate\)/);
  assert.equal((JSON.parse(await readFile(path.join(dir, 'plain-profile.json'), 'utf8')) as { rows: number }).rows, 450);
  for (const [flag, value, message] of [['--false-alarm-rate', '0.5', /--false-alarm-rate must be in \(0, 0\.5\)/], ['--calibrate-sizes', '1', /--calibrate-sizes must list whole numbers of at least 2/], ['--calibration-windows', '50', /--calibration-windows must be a whole number of at least 200/]] as const) {
    const bad = await cli('drift', 'profile', file, '--out', path.join(dir, 'never.json'), flag, value);
    assert.equal(bad.code, 2, `${flag} ${value}`);
    assert.match(bad.err, message);
  }
});

test('compare: plain JSONL compares every field both sides share, without --columns (numbers numerical, strings categorical)', async () => {
  const rows = (shift: number, n: number): string =>
    `${Array.from({ length: n }, (_, i) => JSON.stringify({ id: `r${i}`, x: ((i * 37) % 100) / 10 + shift, city: ['a', 'b', 'c'][i % 3], note: { nested: true } })).join('\n')}\n`;
  const ref = path.join(dir, 'plain-reference.jsonl');
  const cur = path.join(dir, 'plain-current.jsonl');
  await writeFile(ref, rows(0, 200));
  await writeFile(cur, rows(5, 200));
  const result = await cli('drift', 'compare', '--reference', ref, '--current', cur, '--format', 'json');
  assert.equal(result.code, 1, result.err);
  const report = JSON.parse(result.out) as DriftComparison;
  assert.deepEqual(report.columns.map((c) => [c.name, c.kind]), [['x', 'numerical'], ['city', 'categorical']], 'ids and objects are not columns');
  assert.equal(report.columns.find((c) => c.name === 'x')?.drifted, true);
  assert.equal(report.columns.find((c) => c.name === 'city')?.drifted, false);
});
