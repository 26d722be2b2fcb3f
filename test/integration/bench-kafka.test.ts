/**
 * `centaur bench kafka` smoke against the real broker and registry, with tiny counts (so the harness
 * never rots): Centaur, the plain Python consumer and the copy loop each drain the frames, timed by
 * the broker's append times; one paced probe reports latency from capture to append. Under CI the
 * Python contenders run (bench/setup-python.sh installs their packages). Figures are not asserted:
 * numbers come from full runs on a quiet machine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { access, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ClientsBenchResult } from '../../src/bench/clients-scenario.js';
import type { KafkaBenchResult } from '../../src/bench/kafka-scenario.js';
import { main } from '../../src/cli/main.js';
import { BROKERS, REGISTRY_URL, requireServices } from '../helpers/kafka.js';

const BENCH_PYTHON = '.cache/bench/venv/bin/python';

test('bench kafka: tiny counts, every contender drains the frames, and a paced probe has latency', { timeout: 300_000 }, async (t) => {
  if (!(await requireServices(t))) return;
  const python = await access(BENCH_PYTHON).then(() => BENCH_PYTHON, () => undefined);
  if (process.env.CI === 'true') assert.ok(python !== undefined, `CI installs the bench Python (${BENCH_PYTHON}) with bench/setup-python.sh`);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-kafka-'));
  let out = '';
  let err = '';
  const code = await main(
    [
      'bench', 'kafka', '--images', '24', '--runs', '1', '--batch', '8', '--brokers', BROKERS, '--registry', REGISTRY_URL, '--rate', '20', '--probe-seconds', '3',
      '--cache', path.join(dir, 'cache'), '--json', path.join(dir, 'r.json'), '--markdown', path.join(dir, 'r.md'), ...(python === undefined ? [] : ['--python', python]),
    ],
    { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) },
  );
  assert.equal(code, 0, `${out}\n${err}`);
  const r = JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as KafkaBenchResult;
  assert.equal(r.images, 24);
  for (const f of [r.decodePerCore, r.inference, r.ceiling, r.centaur]) assert.ok(f.median > 0 && Number.isFinite(f.median));
  assert.ok(Math.abs(r.ofCeiling.median - r.centaur.median / r.ceiling.median) < 1e-9);
  if (python !== undefined) {
    assert.equal(r.pythonSkipped, null);
    assert.ok(r.python !== null && r.python.median > 0, 'the plain Python consumer drained the frames');
    assert.ok(r.copyLoop !== null && r.copyLoop.median > 0, 'the copy loop drained the frames');
  }
  // 3 s at 20 frames/s, the first second left out as warm-up.
  assert.ok(r.paced !== null && r.paced.sent >= 55, JSON.stringify(r.paced));
  assert.ok(r.paced.latencyMs.count >= 30 && r.paced.latencyMs.p95 >= r.paced.latencyMs.p50 && r.paced.latencyMs.max >= r.paced.latencyMs.p99);
  assert.match(out, /Centaur ÷ ceiling/);
  assert.match(await readFile(path.join(dir, 'r.md'), 'utf8'), /^\| plain Python consumer: confluent-kafka \+ Pillow draft \+ onnxruntime \| /m);
});

test('bench clients: tiny counts, each client in its own process drains and relays the frames, against the Python copy loop; one is recommended', { timeout: 300_000 }, async (t) => {
  if (!(await requireServices(t))) return;
  const python = await access(BENCH_PYTHON).then(() => BENCH_PYTHON, () => undefined);
  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-bench-clients-'));
  let out = '';
  let err = '';
  const code = await main(
    [
      'bench', 'clients', '--images', '60', '--runs', '1', '--batch', '8', '--brokers', BROKERS, '--registry', REGISTRY_URL,
      '--cache', path.join(dir, 'cache'), '--json', path.join(dir, 'r.json'), '--markdown', path.join(dir, 'r.md'), ...(python === undefined ? [] : ['--python', python]),
    ],
    { out: (text) => (out += `${text}\n`), err: (text) => (err += `${text}\n`) },
  );
  assert.equal(code, 0, `${out}\n${err}`);
  const r = JSON.parse(await readFile(path.join(dir, 'r.json'), 'utf8')) as ClientsBenchResult;
  assert.deepEqual(r.rows.map((row) => row.client).sort(), ['confluent', 'kafkajs', 'node-rdkafka']);
  for (const row of r.rows) {
    assert.ok(row.pipeline.median > 0 && row.relay.median > 0, row.client);
    assert.equal(row.librdkafka === null, row.client === 'kafkajs', `${row.client} runs on ${String(row.librdkafka)}`);
  }
  // In processes of their own, each librdkafka client runs on its own build (confluent bundles 2.15).
  assert.match(r.rows.find((row) => row.client === 'confluent')?.librdkafka ?? '', /^2\.1[5-9]\./);
  if (python !== undefined) assert.ok(r.copyLoop !== null && r.copyLoop.median > 0, 'the Python copy loop relayed the frames');
  assert.ok(r.rows.some((row) => row.client === r.recommended));
  assert.match(out, /recommended: client: /);
  assert.match(await readFile(path.join(dir, 'r.md'), 'utf8'), /^\| confluent \| 2\.\d+\.\d+ \| /m);
  assert.equal(await main(['bench', 'clients', '--clients', 'kafkajs,franz'], { out: () => undefined, err: (text) => (err += text) }), 2);
  assert.match(err, /--clients lists client libraries, of confluent, node-rdkafka, kafkajs \(not franz\)/);
});
