/**
 * `label-studio-sink` against a real Label Studio: inputs picked by `select-for-labelling` from
 * generated images (a third of them dogs, a class the model never saw) become tasks in a project
 * created with the model's classes plus "other / new class", each with the prediction as a
 * pre-annotation and an image Label Studio serves; running again creates no duplicate; with Label
 * Studio unreachable the picked inputs are dead-lettered after the retries, the token nowhere in
 * what is written, and every input is accounted for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLogger } from '../../src/core/logger.js';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { loadTopologyFile } from '../../src/topology/load.js';
import { unique } from '../helpers/kafka.js';
import { LABEL_STUDIO_TOKEN, LABEL_STUDIO_URL, labelStudioGet, requireLabelStudio } from '../helpers/label-studio.js';

const MODEL = path.resolve('models/demo');

interface Task {
  id: number;
  data: { image: string; inputId: string; predicted: string; strategy: string; uncertainty: number; model: string };
}

function topology(name: string, project: string, url: string): string {
  return `version: 1
name: ${name}
nodes:
  images: { kind: files-source, path: images }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 5 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} }, includeEmbedding: true }
  select: { kind: select-for-labelling, from: [infer], window: { size: 50 }, budget: { perWindow: 5 }, explorationShare: 0.2 }
  tasks:
    kind: label-studio-sink
    from: [select]
    url: ${JSON.stringify(url)}
    token: \${CENTAUR_LABEL_STUDIO_TOKEN}
    tokenType: legacy
    project: ${project}
    localFilesRoot: ${JSON.stringify(tmpdir())}
  failed: { kind: dead-letter, dir: failed }
`;
}

test('picked inputs become Label Studio tasks with pre-annotations and served images; a second run adds none', async (t) => {
  if (!(await requireLabelStudio(t))) return;
  process.env.CENTAUR_LABEL_STUDIO_TOKEN = LABEL_STUDIO_TOKEN;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-label-studio-'));
  await generateImages({ outDir: path.join(dir, 'images'), count: 150, seed: 909, width: 96, height: 72, classes: ['horse', 'human', 'dog'] });
  const project = unique('centaur');
  await writeFile(path.join(dir, 'tasks.yaml'), topology(unique('label-studio'), project, LABEL_STUDIO_URL));
  for (const run of [1, 2]) {
    const summary = await new Runtime(await loadTopologyFile(path.join(dir, 'tasks.yaml')), { logger: createLogger(process.env.CENTAUR_TEST_LOG ?? 'silent') }).run();
    assert.equal(summary.completed, 150, `run ${run}`);
    assert.equal(summary.deadLetters, 0, `run ${run}`);
  }
  const projects = await labelStudioGet<{ results: { id: number; title: string; label_config: string }[] }>(`/api/projects?title=${project}`);
  const found = projects.results.find((p) => p.title === project)!;
  for (const choice of ['horse', 'human', 'other / new class']) assert.ok(found.label_config.includes(`value="${choice}"`), choice);
  const answer = await labelStudioGet<{ total: number; tasks: (Task & { predictions?: unknown })[] }>(`/api/tasks?project=${found.id}&page_size=100&fields=all`);
  assert.equal(answer.total, 15, '5 per window of 50, once: the second run found them and created none');
  assert.equal(new Set(answer.tasks.map((x) => x.data.inputId)).size, 15);
  for (const task of answer.tasks) {
    assert.equal(task.data.model, 'horse-or-human@1');
    assert.ok(['uncertainty', 'diversity', 'exploration'].includes(task.data.strategy));
    const predictions = await labelStudioGet<{ score: number; model_version: string; result: { value: { choices: string[] } }[] }[]>(`/api/predictions?task=${task.id}`);
    assert.equal(predictions.length, 1);
    assert.deepEqual(predictions[0]!.result[0]!.value.choices, [task.data.predicted], 'the pre-annotation is the prediction');
    assert.ok(predictions[0]!.score > 0 && predictions[0]!.score <= 1);
    // Label Studio serves the image the task names: the very bytes of the input file.
    assert.match(task.data.image, /^\/data\/local-files\/\?d=/);
    const image = await fetch(`${LABEL_STUDIO_URL}${task.data.image}`, { headers: { authorization: `Token ${LABEL_STUDIO_TOKEN}` } });
    assert.equal(image.status, 200, task.data.image);
    const served = Buffer.from(await image.arrayBuffer());
    const file = path.join(tmpdir(), decodeURIComponent(task.data.image.slice('/data/local-files/?d='.length)));
    assert.ok(served.equals(await readFile(file)), 'the same bytes as the input file');
  }
});

test('Label Studio unreachable: the picked inputs are dead letters after the retries, naming why, without the token', async () => {
  process.env.CENTAUR_LABEL_STUDIO_TOKEN = LABEL_STUDIO_TOKEN;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-label-studio-down-'));
  await generateImages({ outDir: path.join(dir, 'images'), count: 50, seed: 910, width: 96, height: 72 });
  await writeFile(path.join(dir, 'tasks.yaml'), topology(unique('label-studio-down'), 'never', 'http://127.0.0.1:9'));
  const summary = await new Runtime(await loadTopologyFile(path.join(dir, 'tasks.yaml')), { logger: createLogger('silent'), sinkWriteAttempts: 2 }).run();
  assert.equal(summary.inputs, 50);
  assert.equal(summary.deadLetters, 5, 'the five picked inputs');
  const written = (await Promise.all((await readdir(path.join(dir, 'failed'))).map((f) => readFile(path.join(dir, 'failed', f), 'utf8')))).join('');
  assert.match(written, /Label Studio at http:\/\/127\.0\.0\.1:9 is unreachable/);
  assert.ok(!written.includes(LABEL_STUDIO_TOKEN), 'the token is not in the dead letters');
});
