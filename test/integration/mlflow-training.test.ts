/**
 * Training recorded in a real MLflow tracking server, read back with MLflow's own Python client:
 * the run (parameters, per-epoch loss as a metric history, holdout figures, the verdict, the report,
 * confusion matrix, head and ONNX as artifacts), the version in MLflow's Model Registry with the
 * same aliases and Centaur's version name, its files the ones registered here; MLflow as the
 * registry itself (`mlflow+http://…`); and an `infer` node following an MLflow alias that someone
 * moves with MLflow's client.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { main } from '../../src/cli/main.js';
import { loadManifest } from '../../src/inference/manifest.js';
import { createInfer } from '../../src/operators/infer.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { openRegistry } from '../../src/registry/open-registry.js';
import { sleep } from '../helpers/fake-components.js';
import { MLFLOW_URL, mlflowPython, requireMlflow } from '../helpers/mlflow.js';
import { demoModelCopy, demoTrainingSet } from '../helpers/training-rows.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** What MLflow's client reads back about a run and a registered model. */
interface Recorded {
  status: string;
  params: Record<string, string>;
  tags: Record<string, string>;
  metrics: Record<string, number>;
  lossSteps: number[];
  artifacts: string[];
  production: { version: string; tags: Record<string, string>; run_id: string; source: string; onnx_sha256: string };
  candidate: string;
}

const READ = `
import hashlib, json, os, sys, tempfile
import mlflow
from mlflow import MlflowClient
run_id, name = sys.argv[1], sys.argv[2]
c = MlflowClient()
r = c.get_run(run_id)
def walk(path=None):
    out = []
    for f in c.list_artifacts(run_id, path):
        out += walk(f.path) if f.is_dir else [f.path]
    return out
mv = c.get_model_version_by_alias(name, "production")
dst = mlflow.artifacts.download_artifacts(artifact_uri=mv.source, dst_path=tempfile.mkdtemp())
onnx = hashlib.sha256(open(os.path.join(dst, "model.onnx"), "rb").read()).hexdigest()
print(json.dumps({
  "status": r.info.status, "params": r.data.params, "tags": r.data.tags, "metrics": r.data.metrics,
  "lossSteps": [m.step for m in c.get_metric_history(run_id, "loss")],
  "artifacts": sorted(walk()),
  "production": {"version": mv.version, "tags": mv.tags, "run_id": mv.run_id, "source": mv.source, "onnx_sha256": onnx},
  "candidate": c.get_model_version_by_alias(name, "candidate").version,
}))
`;

test('a training as an MLflow run and its version in MLflow\'s Model Registry beside the folder registry, read back with MLflow\'s client', async (t) => {
  if (!(await requireMlflow(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-mlflow-'));
  const name = `hoh-${randomUUID().slice(0, 8)}`;
  const parent = await demoModelCopy(dir, name);
  const set = await demoTrainingSet(dir, (await loadManifest(parent)).fingerprint);
  const registry = new ModelRegistry(path.join(dir, 'registry'));
  await registry.register(parent, { aliases: ['production'] });
  const out = path.join(dir, 'run');
  const result = await run(['train', set, '--model', parent, '--out', out, '--min-per-class', '5', '--registry', path.join(dir, 'registry'), '--promote', '--mlflow', MLFLOW_URL, '--experiment', `centaur-test-${name}`, '--quiet']);
  assert.equal(result.code, 0, result.err);
  assert.equal(result.err, '');
  const runId = /MLflow run ([0-9a-f]{32}) /.exec(result.out)?.[1];
  assert.ok(runId !== undefined, result.out);
  assert.match(result.out, /version 2 in its Model Registry/);

  const got = await mlflowPython<Recorded>(READ, [runId, name]);
  assert.equal(got.status, 'FINISHED');
  assert.equal(got.params.seed, '1');
  assert.equal(got.params['blessing.minRecall'], '0.8');
  assert.equal(got.params.parent, `${name}:1`);
  assert.match(got.params.trainingSetContentHash ?? '', /^[0-9a-f]{64}$/);
  assert.equal(got.tags['centaur.blessed'], 'true');
  const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8')) as { candidate: { accuracy: number }; epochs: number };
  assert.equal(got.metrics.holdout_accuracy, report.candidate.accuracy);
  assert.ok((got.metrics['holdout_recall.dog'] ?? 0) >= 0.8);
  assert.deepEqual(got.lossSteps, Array.from({ length: report.epochs }, (_, i) => i + 1), 'one loss point per epoch');
  assert.deepEqual(got.artifacts, ['confusion.svg', 'head.json', 'model/manifest.json', 'model/model.onnx', 'report.json', 'report.md']);
  // The version in MLflow's registry is the one registered here, under the same aliases.
  const local = await registry.load(name, 'production');
  assert.equal(local.manifest.version, '2');
  assert.equal(got.production.tags['centaur.version'], '2');
  assert.equal(got.production.run_id, runId);
  assert.equal(got.production.onnx_sha256, local.manifest.sha256);
  assert.equal(got.candidate, got.production.version);
  const training = local.manifest.training as { mlflow: { runId: string } };
  assert.equal(training.mlflow.runId, runId, 'the lineage names the run');
});

test('MLflow as the registry: train registers there, and an infer node follows an alias moved with MLflow\'s client', async (t) => {
  if (!(await requireMlflow(t))) return;
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-mlflow-'));
  const name = `hoh-${randomUUID().slice(0, 8)}`;
  const parent = await demoModelCopy(dir, name);
  const set = await demoTrainingSet(dir, (await loadManifest(parent)).fingerprint);
  const root = `mlflow+${MLFLOW_URL}`;
  const io = { out: (): void => undefined, err: (): void => undefined };
  assert.equal(await main(['models', 'register', parent, '--registry', root, '--alias', 'production'], io), 0);
  const trained = await run(['train', set, '--model', parent, '--out', path.join(dir, 'run'), '--min-per-class', '5', '--registry', root, '--quiet']);
  assert.equal(trained.code, 0, trained.err);
  const registry = await openRegistry(root, process.cwd());
  assert.deepEqual(await registry.aliases(name), { production: '1', candidate: '2' });
  assert.deepEqual((await registry.versions(name)).map((v) => [v.version, v.classes.length]), [['1', 2], ['2', 3]]);

  const op = await createInfer(
    { model: { registry: root, name, pollIntervalMs: 100 }, backend: { kind: 'onnx' }, maxBatchesInFlight: 1, maxBatchSize: 8, retryWindowMs: 0, includeEmbedding: false },
    { baseDir: process.cwd(), nodeId: 'infer', logger: pino({ level: 'silent' }) },
  );
  const serving = (): string => op.manifest.version;
  try {
    assert.equal(serving(), '1');
    // Someone promotes in MLflow: its own client moves the alias to the MLflow version holding Centaur's version 2.
    await mlflowPython<null>(
      `
import sys
from mlflow import MlflowClient
c = MlflowClient()
v = [m for m in c.search_model_versions(f"name='{sys.argv[1]}'") if m.tags.get("centaur.version") == "2"][0]
c.set_registered_model_alias(sys.argv[1], "production", v.version)
print("null")
`,
      [name],
    );
    for (let i = 0; i < 100 && serving() !== '2'; i += 1) await sleep(50);
    assert.equal(serving(), '2', 'the node swapped to the version MLflow\'s alias names');
    assert.deepEqual(op.manifest.classes, ['horse', 'human', 'dog']);
    const loaded = await registry.load(name, 'production');
    assert.equal(createHash('sha256').update(await readFile(loaded.modelPath)).digest('hex'), loaded.manifest.sha256);
  } finally {
    await op.close();
  }
  assert.match((await run(['models', 'rollback', name, '--registry', root])).out, /production → 1 \(was 2\)/);
});
