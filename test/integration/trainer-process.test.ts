/**
 * The trainer as users run it — `centaur run` of a topology reading retrain requests from Kafka —
 * killed with SIGKILL in the middle of a training: its training process ends with it, nothing is
 * registered, and the request, never acknowledged, is read again by the restarted trainer, which
 * trains the version it had claimed, once, and publishes one TrainingRun.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadManifest } from '../../src/inference/manifest.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { startCentaur } from '../helpers/centaur-process.js';
import { BROKERS, createTopics, produce, requireServices, unique } from '../helpers/kafka.js';
import { demoModelCopy, demoTrainingSet } from '../helpers/training-rows.js';

/** Processes running the training child's entry (the trainer's children). */
async function trainingChildren(): Promise<number[]> {
  const { stdout } = await promisify(execFile)('pgrep', ['-f', 'training-child']).catch(() => ({ stdout: '' }));
  return stdout.split('\n').filter((l) => l.trim() !== '').map(Number);
}

async function runs(dir: string): Promise<{ episode: string; version: string | null; status: string }[]> {
  const text = await readFile(path.join(dir, 'out', 'trainer-training-runs.jsonl'), 'utf8').catch(() => '');
  return text.trim() === '' ? [] : text.trim().split('\n').map((l) => JSON.parse(l) as { episode: string; version: string | null; status: string });
}

test('trainer killed with SIGKILL mid-training: no version registered, the request read again and trained once after the restart', { timeout: 240_000 }, async (t) => {
  if (!(await requireServices(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-trainer-kill-'));
  const registry = new ModelRegistry(path.join(dir, 'registry'));
  await registry.register(await demoModelCopy(dir), { aliases: ['production'] });
  await demoTrainingSet(dir, (await loadManifest('models/demo')).fingerprint);
  const topic = unique('retrain-kill');
  await createTopics([topic], 1);
  const episode = `cams/drift/horse-or-human@1/count-0@${Date.now()}`;
  await produce(topic, [{ key: episode, value: Buffer.from(JSON.stringify({ id: 'cams/drift/count-0-100', topology: 'cams', node: 'drift', model: { name: 'horse-or-human', version: '1' }, reason: 'embedding', reasons: ['embedding'], episode, requestedAt: Date.now(), windows: [], driftedFeatures: [], embeddingScore: 0.4, baselineAccuracy: null })) }]);
  const file = path.join(dir, 'trainer.yaml');
  // Many small batches: long enough a training to be killed in the middle.
  await writeFile(
    file,
    `version: 1
name: trainer-kill
nodes:
  requests: { kind: kafka-source, brokers: [${BROKERS}], topics: [${topic}], groupId: ${unique('trainer')}, value: { format: bytes } }
  trainer:
    kind: trainer-sink
    from: [requests]
    trainingSet: lake/training-set
    model: { registry: registry, name: horse-or-human }
    training: { minPerClass: 5, batchSize: 8, patience: 0, maxEpochs: 300 }
    niceness: 0
    files: { dir: out }
`,
  );
  const before = new Set(await trainingChildren());
  const first = startCentaur(file);
  await first.waitForLog((l) => l.msg === 'Training a new head.', 90_000);
  await new Promise((r) => setTimeout(r, 1500));
  const children = (await trainingChildren()).filter((pid) => !before.has(pid));
  assert.ok(children.length >= 1, 'a training process runs');
  first.child.kill('SIGKILL');
  assert.equal(await first.exited, 'SIGKILL');
  // The training process notices its parent is gone and ends.
  for (const deadline = Date.now() + 10_000; Date.now() < deadline && (await trainingChildren()).some((pid) => children.includes(pid)); ) await new Promise((r) => setTimeout(r, 200));
  assert.deepEqual((await trainingChildren()).filter((pid) => children.includes(pid)), [], 'no orphaned training process');
  assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1'], 'nothing registered');
  assert.deepEqual(await runs(dir), []);

  const second = startCentaur(file);
  try {
    for (const deadline = Date.now() + 150_000; Date.now() < deadline && (await runs(dir)).length === 0; ) await new Promise((r) => setTimeout(r, 500));
    const done = await runs(dir);
    assert.equal(done.length, 1, 'one TrainingRun');
    assert.equal(done[0]?.episode, episode);
    assert.equal(done[0]?.version, '2', 'the version claimed before the kill');
    assert.deepEqual((await registry.versions('horse-or-human')).map((v) => v.version), ['1', '2']);
    assert.equal((await registry.aliases('horse-or-human')).production, '2', done[0]?.status);
  } finally {
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  }
});
