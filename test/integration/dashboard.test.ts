/**
 * The dashboard in a real browser (Debian's chromium through playwright-core) against a real
 * `centaur run --http`: a files-source watching a folder that the test keeps feeding with the
 * quick-start images (at a changing rate, with a corrupt file now and then). The page must draw
 * every node of the topology, show a throughput that changes, and say "disconnected" once the
 * process has stopped on SIGTERM. A screenshot is left in test-artifacts/dashboard.png.
 * Without /usr/bin/chromium the test is skipped, and fails under CI=true.
 */
import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import { buildDashboard } from '../../scripts/build-dashboard.js';
import { startCentaur } from '../helpers/centaur-process.js';

const CHROMIUM = '/usr/bin/chromium';
const MODEL = path.resolve('models/demo');
const QUICKSTART = path.resolve('data/quickstart');
const SCREENSHOT = path.resolve('test-artifacts/dashboard.png');
const NODES = ['images', 'decode', 'batch', 'infer', 'predictions', 'dead-letters'];

/** Skips the test (or fails it under CI=true) when Debian's chromium is not installed. */
function requireChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') throw new Error(`${CHROMIUM} is missing; CI must install it (apt-get install chromium)`);
  t.skip(`${CHROMIUM} is missing; install it with apt-get install chromium`);
  return false;
}

function topologyYaml(): string {
  return `version: 1
name: dashboard-check
nodes:
  images:
    kind: files-source
    path: images
    watch: true
    pollIntervalMs: 100
    labels: parent-folder
    labelMap: { horses: horse, humans: human }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  batch: { kind: micro-batch, from: [decode], maxSize: 16, maxDelayMs: 10 }
  infer: { kind: infer, from: [batch], model: { path: ${JSON.stringify(MODEL)} } }
  predictions: { kind: files-sink, from: [infer], dir: out }
  dead-letters: { kind: dead-letter, dir: out }
`;
}

/**
 * Copies quick-start images into the watched folder every 250 ms, 1 to 6 at a time so the rate
 * keeps changing; every 8th tick adds a corrupt file. Files are renamed into place whole.
 */
function feed(dir: string): { stop: () => Promise<void> } {
  let stopped = false;
  const running = (async () => {
    const sources: { file: string; label: string }[] = [];
    for (const label of ['horses', 'humans']) {
      for (const name of (await readdir(path.join(QUICKSTART, label))).sort()) sources.push({ file: path.join(QUICKSTART, label, name), label });
    }
    const staging = path.join(dir, 'staging');
    await mkdir(staging, { recursive: true });
    for (const label of ['horses', 'humans']) await mkdir(path.join(dir, 'images', label), { recursive: true });
    let n = 0;
    for (let tick = 0; !stopped; tick += 1) {
      const count = 1 + ((tick * 7) % 6);
      for (let i = 0; i < count; i += 1, n += 1) {
        const source = sources[n % sources.length] as { file: string; label: string };
        const staged = path.join(staging, `${n}.jpg`);
        await copyFile(source.file, staged);
        await rename(staged, path.join(dir, 'images', source.label, `fed-${n}.jpg`));
      }
      if (tick % 8 === 7) {
        const staged = path.join(staging, `corrupt-${tick}.jpg`);
        await writeFile(staged, 'this is not a jpeg');
        await rename(staged, path.join(dir, 'images', 'horses', `corrupt-${tick}.jpg`));
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await running;
    },
  };
}

/** Reads a headline number's text. */
async function headline(page: Page, metric: string): Promise<string> {
  return ((await page.textContent(`[data-metric="${metric}"] .value`)) ?? '').trim();
}

/** Polls `read` until it returns something other than `previous` (and the dash of no value). */
async function changed(read: () => Promise<string>, previous: string, timeoutMs: number): Promise<string | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const now = await read();
    if (now !== previous && now !== '–' && now !== '') return now;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

test('dashboard: a real browser shows the topology, live throughput, and the disconnect after SIGTERM', { timeout: 120_000 }, async (t) => {
  if (!requireChromium(t)) return;
  // The server serves dist/dashboard: build it from the current source first.
  const built = await buildDashboard();
  assert.ok(existsSync(path.join(built.outDir, 'index.html')), `the dashboard was not built into ${built.outDir}`);

  const dir = await mkdtemp(path.join(tmpdir(), 'centaur-dashboard-'));
  await mkdir(path.join(dir, 'images'), { recursive: true });
  const topology = path.join(dir, 'dashboard.yaml');
  await writeFile(topology, topologyYaml());
  const feeder = feed(dir);
  // A stand-in for NVIDIA's nvidia-smi on PATH, answering as one GPU would: the GPU charts appear.
  const bin = path.join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  await writeFile(path.join(bin, 'nvidia-smi'), '#!/bin/sh\necho "0, Stand-in GPU, 42, 1500, 16000"\n', { mode: 0o755 });
  const centaur = startCentaur(topology, { PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` }, ['--http', '127.0.0.1:0']);
  const startedAt = Date.now();
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  try {
    const listening = await centaur.waitForLog((l) => l.msg === 'HTTP server listening.', 60_000);
    const url = listening.url;
    assert.equal(typeof url, 'string', `no url in ${JSON.stringify(listening)}`);

    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const response = await page.goto(url as string);
    assert.equal(response?.status(), 200, 'the dashboard page is served at /');

    // The graph: one box per node, labelled with its id.
    await page.waitForSelector('#graph svg [data-node="images"]', { timeout: 15_000 });
    const ids = await page.locator('#graph svg [data-node] .node-id').allTextContents();
    assert.deepEqual([...ids].sort(), [...NODES].sort());
    assert.equal(await page.locator('#graph svg path.edge').count(), 4);

    // Live numbers: the stream connects and the throughput changes from one reading to another.
    await page.waitForSelector('#connection[data-state="connected"]', { timeout: 15_000 });
    const first = await changed(() => headline(page, 'inputs'), '–', 15_000);
    assert.ok(first !== undefined, 'the throughput never appeared');
    const second = await changed(() => headline(page, 'inputs'), first, 15_000);
    assert.ok(second !== undefined, `the throughput stayed at ${first}`);
    assert.match(await headline(page, 'uptime'), /^\d+[smhd]( \d+[smhd])?$/);
    assert.equal(await headline(page, 'ready'), 'Ready');
    assert.notEqual(await page.textContent('[data-panel="model"] td.version'), null, 'the model panel lists the version');
    await page.locator('[data-panel="accuracy"] .value', { hasText: '%' }).waitFor({ state: 'visible', timeout: 15_000 });
    await page.waitForSelector('#graph [data-node="decode"].has-failures', { timeout: 15_000 });

    // Let the charts gather ~15 s of samples so that the screenshot shows lines, not dots.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, startedAt + 15_000 - Date.now())));
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // A reload mid-run: the stream sends the recent history first, so the charts are full at once
    // (before, they started empty); the process's CPU, memory and event-loop delay are charted.
    const history = (await (await fetch(new URL('api/history', url as string))).json()) as { points: { process: { rssBytes: number } }[] };
    assert.ok(history.points.length >= 10, `${history.points.length} history points`);
    assert.ok(history.points.every((p) => p.process.rssBytes > 0));
    await page.reload();
    await page.waitForSelector('#connection[data-state="connected"]', { timeout: 15_000 });
    assert.deepEqual((history.points.at(-1) as unknown as { gpus: unknown }).gpus, [{ index: 0, name: 'Stand-in GPU', utilization: 0.42, memoryUsedBytes: 1500 * 2 ** 20, memoryTotalBytes: 16000 * 2 ** 20 }]);
    for (const id of ['throughput', 'cpu', 'memory', 'event-loop', 'gpu', 'gpu-memory']) {
      const points = Number(await page.getAttribute(`[data-chart="${id}"] .chart-body`, 'data-points'));
      assert.ok(points >= 10, `the ${id} chart draws ${points} points right after the reload`);
      assert.equal(await page.locator(`[data-chart="${id}"] .chart-body.empty`).count(), 0, `the ${id} chart is drawn`);
    }

    // Stopping the process: it drains and exits 0, and the page says it is disconnected.
    await feeder.stop();
    centaur.child.kill('SIGTERM');
    const code = await Promise.race([centaur.exited, new Promise((resolve) => setTimeout(() => resolve('still running 30 s after SIGTERM'), 30_000).unref())]);
    assert.equal(code, 0, `exit: ${String(code)}; last lines: ${JSON.stringify(centaur.logs.slice(-5))}`);
    await page.waitForSelector('#connection[data-state="disconnected"]', { timeout: 15_000 });
    assert.match((await page.textContent('#connection')) ?? '', /^disconnected/);
    assert.equal(await page.isVisible('#banner'), true);
    assert.deepEqual(pageErrors, []);
  } finally {
    await feeder.stop();
    await browser.close();
    if (centaur.child.exitCode === null && centaur.child.signalCode === null) centaur.child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
});
