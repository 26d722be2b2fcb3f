/**
 * Drift across instances against the real broker: two `centaur run` processes each run a `drift`
 * node over half of the images and publish window partials; a third runs `drift-merge-source`.
 * Its reports equal, feature by feature, those of one process over all the images (streaming mode).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { driftProfileCommand } from '../../src/cli/drift-profile.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { startCentaur } from '../helpers/centaur-process.js';
import { BROKERS, committedOffsets, createTopics, requireServices, unique } from '../helpers/kafka.js';

const IMAGES = 120;
const WINDOW_MS = 20_000;
/** Event times (file modification times) of the images: one second apart from here. */
const T0 = 1_700_000_000_000;

interface Report {
  window: { start: number; end: number };
  inputs: number;
  instances: number;
  columns: { name: string; method: string; score: number; drifted: boolean }[];
}

function driftTopology(name: string, images: string, out: string, partials?: { topic: string; instance: string }): string {
  return `version: 1
name: ${name}
nodes:
  images: { kind: files-source, path: ${JSON.stringify(images)} }
  decode: { kind: decode-image, from: [images], size: [64, 64] }
  drift:
    kind: drift
    from: [decode]
    profile: profile.json
    mode: streaming
    window: { by: time, size: ${WINDOW_MS}, allowedLatenessMs: 100000000 }
    reports: { files: { dir: ${JSON.stringify(out)} } }
${partials === undefined ? '' : `    partials: { kafka: { brokers: [${BROKERS}], topic: ${partials.topic}, format: json }, instance: ${partials.instance} }\n`}  out: { kind: files-sink, from: [drift], dir: ${JSON.stringify(path.join(out, 'sink'))} }
`;
}

async function readReports(file: string): Promise<Report[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as Report);
}

test('two drift processes publish partials; drift-merge-source reports each window once, equal to one process over all the images', async (t) => {
  if (!(await requireServices(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-drift-merge-'));
  const profileOut: string[] = [];
  await generateImages({ outDir: path.join(dir, 'reference'), count: 60, seed: 41_000, width: 64, height: 48 });
  assert.equal(await driftProfileCommand(path.join(dir, 'reference'), { out: path.join(dir, 'profile.json') }, { out: (s) => profileOut.push(s), err: (s) => profileOut.push(s) }), 0, profileOut.join('\n'));

  // The stream: image i has event time T0 + i s; the even ones go to instance a, the odd ones to b.
  const generated = await generateImages({ outDir: path.join(dir, 'generated'), count: IMAGES, seed: 42_000, width: 64, height: 48 });
  for (const folder of ['all', 'a', 'b']) await mkdir(path.join(dir, folder));
  for (const [i, image] of generated.entries()) {
    const name = `${String(i).padStart(5, '0')}.jpg`;
    const time = new Date(T0 + i * 1000);
    for (const folder of ['all', i % 2 === 0 ? 'a' : 'b']) {
      const target = path.join(dir, folder, name);
      await copyFile(image.path, target);
      await utimes(target, time, time);
    }
  }

  const topic = unique('drift-partials');
  await createTopics([topic], 2);
  const shared = unique('drift-procs');
  const files = {
    single: path.join(dir, 'single.yaml'),
    a: path.join(dir, 'a.yaml'),
    b: path.join(dir, 'b.yaml'),
    merge: path.join(dir, 'merge.yaml'),
  };
  const group = unique('drift-merge');
  await writeFile(files.single, driftTopology(unique('drift-single'), 'all', 'out-single'));
  await writeFile(files.a, driftTopology(shared, 'a', 'out-a', { topic, instance: 'a' }));
  await writeFile(files.b, driftTopology(shared, 'b', 'out-b', { topic, instance: 'b' }));
  await writeFile(
    files.merge,
    `version: 1
name: ${unique('drift-merger')}
nodes:
  merge:
    kind: drift-merge-source
    brokers: [${BROKERS}]
    topic: ${topic}
    groupId: ${group}
    instances: 2
    graceMs: 60000
    profile: profile.json
    mode: streaming
    reports: { files: { dir: out-merged } }
  out: { kind: files-sink, from: [merge], dir: out-merged/sink }
`,
  );

  const merge = startCentaur(files.merge);
  const single = startCentaur(files.single);
  const a = startCentaur(files.a);
  const b = startCentaur(files.b);
  try {
    assert.deepEqual(await Promise.all([single.exited, a.exited, b.exited]), [0, 0, 0], JSON.stringify([...a.logs, ...b.logs, ...single.logs].filter((l) => l.level !== undefined && Number(l.level) >= 40).slice(0, 5)));
    const expected = await readReports(path.join(dir, 'out-single', 'drift-reports.jsonl'));
    assert.equal(expected.length, IMAGES / (WINDOW_MS / 1000));
    const partialsA = await readReports(path.join(dir, 'out-a', 'drift-reports.jsonl'));
    assert.equal(partialsA.length, expected.length, 'each instance reports every window on its own too');

    const mergedFile = path.join(dir, 'out-merged', 'merge-reports.jsonl');
    const deadline = Date.now() + 30_000;
    let merged = await readReports(mergedFile);
    while (merged.length < expected.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      merged = await readReports(mergedFile);
    }
    assert.equal(merged.length, expected.length, `merged reports; merge logs: ${JSON.stringify(merge.logs.slice(-5))}`);
    const byStart = (r: readonly Report[]) => [...r].sort((x, y) => x.window.start - y.window.start);
    for (const [i, m] of byStart(merged).entries()) {
      const one = byStart(expected)[i]!;
      assert.deepEqual(m.window, one.window);
      assert.equal(m.instances, 2);
      assert.equal(m.inputs, one.inputs);
      assert.deepEqual(
        m.columns.map((c) => [c.name, c.method, c.score, c.drifted]),
        one.columns.map((c) => [c.name, c.method, c.score, c.drifted]),
        `window ${m.window.start}`,
      );
    }

    // Each merged report also went down the graph as one envelope, to the files sink.
    const sinkDir = path.join(dir, 'out-merged', 'sink');
    const sinkLines = (await Promise.all((await readdir(sinkDir)).map((f) => readFile(path.join(sinkDir, f), 'utf8')))).join('').trim().split('\n');
    assert.equal(sinkLines.length, expected.length);

    // Offsets are committed once the reports are written: every partial (2 per window) is consumed.
    const commitDeadline = Date.now() + 10_000;
    let committed = 0;
    while (Date.now() < commitDeadline) {
      committed = [...(await committedOffsets(group, topic)).values()].reduce((s, o) => s + Math.max(0, o), 0);
      if (committed === 2 * expected.length) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(committed, 2 * expected.length);
  } finally {
    for (const p of [merge, single, a, b]) p.child.kill('SIGTERM');
    assert.equal(await merge.exited, 0, 'the merge process stops cleanly');
    await Promise.all([single.exited, a.exited, b.exited]);
  }
});
