import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { main } from '../../src/cli/main.js';
import type { CliIo } from '../../src/cli/main.js';
import { allComponents } from '../../src/topology/registry.js';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`) };
  const code = await main(argv, io);
  return { code, out, err };
}

test('validate: exit 0 and a line per valid file', async () => {
  const r = await cli('validate', 'topologies/demo.yaml');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /topologies\/demo\.yaml: ok \(7 nodes\)/);
});

test('validate: every example topology is valid', async () => {
  const env = { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081/apis/ccompat/v7', REDIS_URL: 'redis://127.0.0.1:6379', LABEL_STUDIO_URL: 'http://127.0.0.1:8089', LABEL_STUDIO_TOKEN: 't', MLFLOW_URL: 'http://127.0.0.1:5000' };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    const files = (await readdir('topologies')).filter((f) => f.endsWith('.yaml')).map((f) => path.join('topologies', f));
    assert.ok(files.length >= 2);
    const r = await cli('validate', ...files);
    assert.equal(r.code, 0, r.err);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('validate: exit 2 and every problem with file:line:column for an invalid file', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cli-'));
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'version: 1\nname: bad\nnodes:\n  a: { kind: files-sorce, path: x }\n  b: { kind: files-sink, from: [c], dir: o }\n');
  const r = await cli('validate', 'topologies/demo.yaml', file);
  assert.equal(r.code, 2);
  assert.match(r.err, new RegExp(`${file}:4:14: node \`a\`: unknown kind \`files-sorce\`; did you mean \`files-source\`\\?`));
  assert.match(r.err, new RegExp(`${file}:5:33: node \`b\`: \`from\` names unknown node \`c\``));
  assert.match(r.err, /2 problems/);
});

test('validate: a warning is printed with its place, and the file is still valid (exit 0)', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cli-'));
  const file = path.join(dir, 'big-batches.yaml');
  const model = JSON.stringify(path.resolve('models/demo'));
  await writeFile(file, `version: 1\nname: t\nnodes:\n  a: { kind: files-source, path: x }\n  d: { kind: decode-image, from: [a] }\n  b: { kind: micro-batch, from: [d], maxSize: 64 }\n  i: { kind: infer, from: [b], model: { path: ${model} }, maxBatchSize: 32 }\n  o: { kind: files-sink, from: [i], dir: o }\n`);
  const r = await cli('validate', file);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, new RegExp(`^warning: ${file}:6:47: node \`b\`: maxSize 64 is above the maxBatchSize 32 of \`i\``, 'm'));
  assert.match(r.out, /ok \(5 nodes, 1 warning\)/);
});

test('validate: a missing file is invalid input (exit 2)', async () => {
  const r = await cli('validate', 'no/such/file.yaml');
  assert.equal(r.code, 2);
  assert.match(r.err, /file not found/);
});

test('run: an invalid topology exits 2 before starting', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cli-'));
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'version: 2\nname: bad\nnodes: {}\n');
  const r = await cli('run', file, '--http', '127.0.0.1:0');
  assert.equal(r.code, 2);
  assert.match(r.err, /field `version` must be 1/);
});

test('run: a source whose input folder is missing exits 2 with the path', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cli-'));
  const file = path.join(dir, 'missing.yaml');
  await writeFile(file, 'version: 1\nname: missing\nnodes:\n  a: { kind: files-source, path: no-such-folder }\n  b: { kind: files-sink, from: [a], dir: out }\n');
  const r = await cli('run', file, '--log-level', 'silent', '--http', '127.0.0.1:0');
  assert.equal(r.code, 2);
  assert.match(r.err, /CONFIG_INVALID: files-source path .*no-such-folder does not exist/);
});

test('run: a finite topology runs to the end, prints its summary and exits 0', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cli-'));
  await mkdir(path.join(dir, 'in'));
  for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) await writeFile(path.join(dir, 'in', name), name);
  const file = path.join(dir, 'copy.yaml');
  await writeFile(file, 'version: 1\nname: copy\nnodes:\n  a: { kind: files-source, path: in }\n  b: { kind: files-sink, from: [a], dir: out }\n');
  const r = await cli('run', file, '--json', '--log-level', 'silent', '--http', '127.0.0.1:0');
  assert.equal(r.code, 0, r.err);
  const summary = JSON.parse(r.out) as { inputs: number; completed: number; deadLetters: number };
  assert.deepEqual([summary.inputs, summary.completed, summary.deadLetters], [3, 3, 0]);
  const written = (await readFile(path.join(dir, 'out', 'b-000001.jsonl'), 'utf8')).trim().split('\n');
  assert.equal(written.length, 3);
});

test('schema prints the topology JSON Schema', async () => {
  const r = await cli('schema');
  assert.equal(r.code, 0);
  const schema = JSON.parse(r.out) as { title: string; properties: Record<string, unknown> };
  assert.equal(schema.title, 'Centaur topology');
  assert.ok('nodes' in schema.properties);
});

test('components lists every kind with its description and options', async () => {
  const r = await cli('components');
  assert.equal(r.code, 0);
  for (const kind of ['files-source', 'kafka-source', 'fetch-object', 'decode-image', 'micro-batch', 'infer', 'files-sink', 'stdout-sink', 'dead-letter', 'kafka-sink', 'kafka-dead-letter', 'object-sink']) {
    assert.match(r.out, new RegExp(`^${kind} \\(`, 'm'));
  }
  assert.match(r.out, /maxDelayMs: number \(default 50\)/);
  const json = JSON.parse((await cli('components', '--format', 'json')).out) as { kind: string }[];
  assert.equal(json.length, allComponents.length);
});

test('help for every command, exit 0; an unknown command or option exits 2', async () => {
  for (const command of ['run', 'validate', 'schema', 'components', 'generate-images', 'publish-images', 'create-topics', 'models', 'drift']) {
    const r = await cli(command, '--help');
    assert.equal(r.code, 0, command);
    assert.match(r.out, new RegExp(`Usage: centaur ${command}`));
  }
  assert.equal((await cli('--help')).code, 0);
  assert.equal((await cli('frobnicate')).code, 2);
  assert.equal((await cli('components', '--format', 'xml')).code, 2);
});

test('generate-images rejects bad numbers and unknown classes with exit 2', async () => {
  assert.equal((await cli('generate-images', '--out', '/tmp/x', '--count', 'many')).code, 2);
  assert.equal((await cli('generate-images', '--out', '/tmp/x', '--classes', 'horse,unicorn')).code, 2);
});

test('generate-images writes a seeded set in the horses/ humans/ layout', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-gen-'));
  const r = await cli('generate-images', '--out', dir, '--count', '4', '--seed', '3', '--width', '64', '--height', '48');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /wrote 4 images/);
  assert.deepEqual((await readdir(path.join(dir, 'horses'))).sort(), ['horse-000000.jpg', 'horse-000001.jpg']);
  assert.deepEqual((await readdir(path.join(dir, 'humans'))).sort(), ['human-000000.jpg', 'human-000001.jpg']);
});

test('validate: one file with a problem of each family — schema, graph, cross-field, model — reports all four in one run, exit 2', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-cli-'));
  const file = path.join(dir, 'broken.yaml');
  const model = JSON.stringify(path.resolve('models/demo'));
  await writeFile(
    file,
    [
      'version: 1',
      'name: broken',
      'nodes:',
      '  images: { kind: files-source, path: imgs, recursiv: true }',
      '  fetch: { kind: fetch-object, from: [images], allow: ["file:///srv"] }',
      '  decode: { kind: decode-image, from: [fetch], size: [160, 120] }',
      '  batch: { kind: micro-batch, from: [decode], layout: NCHW }',
      `  infer: { kind: infer, from: [batch], model: { path: ${model} } }`,
      '  out: { kind: files-sink, from: [infer, missing], dir: out }',
      '',
    ].join('\n'),
  );
  const r = await cli('validate', file);
  assert.equal(r.code, 2);
  assert.match(r.err, /:4:\d+: node `images`: unknown field `recursiv`; did you mean `recursive`\?/, 'schema');
  assert.match(r.err, /:9:\d+: node `out`: `from` names unknown node `missing`/, 'graph');
  assert.match(r.err, /:5:\d+: node `fetch`: `file:\/\/` does not belong in `allow`; set `fileBase/, 'cross-field');
  assert.match(r.err, /:6:\d+: node `decode`: makes 160×120 images, but model `horse-or-human` 1 \(node `infer`\) takes 224×224; set `size: \[224, 224\]`/, 'model');
  assert.match(r.err, /:7:\d+: node `batch`: packs NCHW, but model `horse-or-human` 1 \(node `infer`\) takes NHWC/, 'model layout');
  assert.match(r.err, /5 problems/);
});
