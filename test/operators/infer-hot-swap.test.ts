/**
 * `infer` following a registry alias, under load: moving the alias swaps the version mid-run
 * without dropping or repeating an input, every prediction names its version, and a version that
 * does not fit (different input) or is corrupt is refused while the running one stays.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { generateImages } from '../../src/demo/generate-images.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { parseTopology } from '../../src/topology/load.js';
import { allComponents } from '../../src/topology/registry.js';
import { ModelRegistry } from '../../src/registry/model-registry.js';
import { fakeComponents, sleep, useProbe } from '../helpers/fake-components.js';
import { tinyModelVersion } from '../helpers/model-copy.js';


test('moving the alias swaps versions under load: nothing dropped or repeated; misfits and corrupt versions are refused', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-swap-'));
  const images = path.join(work, 'images');
  await generateImages({ outDir: images, count: 600, seed: 5, width: 48, height: 32 });
  const registry = new ModelRegistry(path.join(work, 'registry'));
  await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
  await registry.register(await tinyModelVersion('2'));
  await registry.register(await tinyModelVersion('3', (m) => ((m.input as Record<string, unknown>).width = 8)));
  const v4 = await registry.register(await tinyModelVersion('4'));
  const v4Manifest = JSON.parse(await readFile(path.join(registry.root, v4.model, 'versions', '4', 'manifest.json'), 'utf8')) as { file: string };
  await writeFile(path.join(registry.root, v4.model, 'versions', '4', v4Manifest.file), 'corrupted');

  const probe = useProbe('hot-swap');
  let written = 0;
  const steps: [number, string][] = [
    [150, '2'],
    [300, '3'],
    [450, '4'],
  ];
  probe.onWrite = async (_sink, envelopes) => {
    written += envelopes.length;
    const step = steps[0];
    if (step !== undefined && written >= step[0]) {
      steps.shift();
      await registry.setAlias(v4.model, 'production', step[1]);
      // Hold the sink (and, through the in-flight limit, the sources) while the follower polls.
      await sleep(400);
    }
  };
  const logs: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.length > 0) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const yaml = `version: 1
name: swap
deadLetter: dlq
limits: { maxInFlight: 48 }
nodes:
  images: { kind: files-source, path: ${images} }
  decode: { kind: decode-image, from: [images], size: [4, 4], fit: fill, kernel: linear, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 5 }
  infer:
    kind: infer
    from: [batch]
    model: { registry: ${registry.root}, name: ${v4.model}, alias: production, pollIntervalMs: 100 }
    backend: { kind: onnx }
  out: { kind: probe-sink, from: [infer], probe: hot-swap }
  dlq: { kind: probe-sink, probe: hot-swap }
`;
  const topology = parseTopology(yaml, path.join(work, 'swap.yaml'), { components: [...allComponents, ...fakeComponents] });
  const summary = await new Runtime(topology, { logger: pino({ level: 'info' }, stream) }).run();

  const out = probe.written.get('out') ?? [];
  assert.equal(summary.inputs, 600);
  assert.equal(summary.deadLetters, 0);
  assert.equal(out.length, 600, 'every input predicted once');
  assert.equal(new Set(out.map((e) => e.id)).size, 600, 'no input repeated');
  const versions = new Map<string, number>();
  for (const e of out) versions.set(e.model?.version ?? 'none', (versions.get(e.model?.version ?? 'none') ?? 0) + 1);
  assert.deepEqual([...versions.keys()].sort(), ['1', '2'], `versions seen: ${JSON.stringify([...versions])}`);
  assert.ok((versions.get('1') ?? 0) >= 150 && (versions.get('2') ?? 0) >= 150, JSON.stringify([...versions]));
  // Once version 2 appears, version 1 only finishes what was already in flight.
  const firstV2 = out.findIndex((e) => e.model?.version === '2');
  const lateV1 = out.slice(firstV2).filter((e) => e.model?.version === '1').length;
  assert.ok(lateV1 <= 48, `${lateV1} version-1 predictions after the swap, more than the in-flight limit`);
  const refused = logs.filter((l) => l.msg === 'New model version refused; the running version stays.');
  assert.deepEqual(refused.map((l) => l.version), ['3', '4']);
  assert.match(String(refused[0]?.error), /input differs .*width 8 ≠ 4/);
  assert.match(String(refused[1]?.error), /sha256/);
  assert.ok(logs.some((l) => l.msg === 'Model version swapped; batches in flight finish on the previous version.' && l.to === '2'));
});

test('shadow mode: a candidate answers a sampled share beside production; outputs stay production', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-shadow-'));
  const images = path.join(work, 'images');
  await generateImages({ outDir: images, count: 160, seed: 9, width: 48, height: 32 });
  const registry = new ModelRegistry(path.join(work, 'registry'));
  const v1 = await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
  await registry.register(await tinyModelVersion('2'), { aliases: ['candidate'] });
  const probe = useProbe('shadow');
  const yaml = `version: 1
name: shadow
deadLetter: dlq
nodes:
  images: { kind: files-source, path: ${images} }
  decode: { kind: decode-image, from: [images], size: [4, 4], fit: fill, kernel: linear, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 5 }
  infer:
    kind: infer
    from: [batch]
    model: { registry: ${registry.root}, name: ${v1.model} }
    shadow: { alias: candidate, sampleRatio: 0.5, maxInFlight: 4 }
    backend: { kind: onnx }
  out: { kind: probe-sink, from: [infer], probe: shadow }
  dlq: { kind: probe-sink, probe: shadow }
`;
  const runtime = new Runtime(parseTopology(yaml, path.join(work, 'shadow.yaml'), { components: [...allComponents, ...fakeComponents] }), { logger: pino({ level: 'silent' }) });
  const summary = await runtime.run();
  assert.equal(summary.predictions, 160);
  assert.ok((probe.written.get('out') ?? []).every((e) => e.model?.version === '1'), 'outputs come from production only');
  const { body } = await runtime.metrics.render(false);
  const count = (outcome: string): number => {
    const line = body.split('\n').find((l) => l.startsWith(`centaur_shadow_predictions_total{topology="shadow",node="infer",model="${v1.model}",version="2",outcome="${outcome}"}`));
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
  };
  assert.equal(count('disagree'), 0, 'the same weights agree on every image');
  assert.ok(count('agree') >= 40, `shadowed ${count('agree')} images`);
  assert.match(body, /centaur_shadow_inference_batch_seconds_count\{[^}]*version="2"\} [1-9]/);
});

test('shadow promotion: no candidate at start; a candidate that agrees is promoted after its shadow period and served; one that does not is rejected', async () => {
  const work = await mkdtemp(path.join(tmpdir(), 'centaur-shadow-promote-'));
  const images = path.join(work, 'images');
  await generateImages({ outDir: images, count: 700, seed: 11, width: 48, height: 32 });
  const registry = new ModelRegistry(path.join(work, 'registry'));
  const v1 = await registry.register(await tinyModelVersion('1'), { aliases: ['production'] });
  const probe = useProbe('shadow-promote');
  let written = 0;
  const steps: [number, () => Promise<unknown>][] = [
    // The same weights: agrees on every input.
    [100, async () => registry.register(await tinyModelVersion('2'), { aliases: ['candidate'] })],
    // The class names swapped: names the other class for every input.
    [400, async () => registry.register(await tinyModelVersion('3', (m) => (m.classes = [...(m.classes as string[])].reverse())), { aliases: ['candidate'] })],
  ];
  probe.onWrite = async (_sink, envelopes) => {
    written += envelopes.length;
    const step = steps[0];
    if (step !== undefined && written >= step[0]) {
      steps.shift();
      await step[1]();
      await sleep(600);
    }
  };
  const yaml = `version: 1
name: shadow-promote
deadLetter: dlq
limits: { maxInFlight: 32 }
nodes:
  images: { kind: files-source, path: ${images} }
  decode: { kind: decode-image, from: [images], size: [4, 4], fit: fill, kernel: linear, scale: unit }
  batch: { kind: micro-batch, from: [decode], maxSize: 8, maxDelayMs: 5 }
  infer:
    kind: infer
    from: [batch]
    model: { registry: ${registry.root}, name: ${v1.model}, pollIntervalMs: 100 }
    shadow: { alias: candidate, sampleRatio: 1, maxInFlight: 4, promote: { minInputs: 60, minAgreement: 0.95 } }
    backend: { kind: onnx }
  out: { kind: probe-sink, from: [infer], probe: shadow-promote }
  dlq: { kind: probe-sink, probe: shadow-promote }
`;
  const runtime = new Runtime(parseTopology(yaml, path.join(work, 'shadow.yaml'), { components: [...allComponents, ...fakeComponents] }), { logger: pino({ level: process.env.CENTAUR_TEST_LOG ?? 'silent' }) });
  const summary = await runtime.run();
  assert.equal(summary.predictions, 700, 'every input predicted');
  const out = probe.written.get('out') ?? [];
  assert.equal(new Set(out.map((e) => e.id)).size, 700, 'none twice');
  const versions = out.map((e) => e.model?.version);
  assert.equal(versions[0], '1');
  assert.equal(versions[versions.length - 1], '2', 'the promoted candidate serves');
  assert.ok(!versions.includes('3'), 'the rejected candidate never serves');
  assert.deepEqual(await registry.aliases(v1.model), { production: '2', candidate: '3' });
  const promotion = (await registry.aliasHistory(v1.model)).find((m) => m.alias === 'production' && m.version === '2');
  assert.match(promotion?.reason ?? '', /^shadow: 100\.0 % agreement with version 1 on \d+ inputs/);
  const { body } = await runtime.metrics.render(false);
  assert.match(body, /centaur_shadow_verdicts_total\{[^}]*version="2",verdict="promoted"\} 1/);
  assert.match(body, /centaur_shadow_verdicts_total\{[^}]*version="3",verdict="rejected"\} 1/);
});
