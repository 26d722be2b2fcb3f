import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Windower } from '../../src/drift-monitor/windower.js';
import type { WindowSpec } from '../../src/drift-monitor/windower.js';

interface Closed {
  start: number;
  end: number;
  partial: boolean;
  items: number[];
}

function run(spec: WindowSpec, inputs: readonly [number, number][]): { closed: Closed[]; late: number; maxPanes: number } {
  const closed: Closed[] = [];
  let maxPanes = 0;
  const w = new Windower<number[], number>(spec, {
    createPane: () => [],
    add: (pane, item) => pane.push(item),
    close: (window, panes) => closed.push({ start: window.start, end: window.end, partial: window.partial, items: panes.flat().sort((a, b) => a - b) }),
  });
  let late = 0;
  for (const [item, time] of inputs) {
    if (!w.add(item, time)) late += 1;
    maxPanes = Math.max(maxPanes, w.openPanes);
  }
  w.flush();
  return { closed, late, maxPanes };
}

test('count windows: tumbling closes every `size` inputs, the last partial window at the end', () => {
  const { closed } = run({ by: 'count', size: 3, slide: 3 }, [1, 2, 3, 4, 5, 6, 7].map((i) => [i, 0]));
  assert.deepEqual(closed.map((c) => c.items), [[1, 2, 3], [4, 5, 6], [7]]);
  assert.deepEqual(closed.map((c) => c.partial), [false, false, true]);
});

test('count windows: sliding windows overlap by size − slide', () => {
  const { closed } = run({ by: 'count', size: 4, slide: 2 }, [1, 2, 3, 4, 5, 6].map((i) => [i, 0]));
  assert.deepEqual(closed.map((c) => c.items).slice(0, 2), [[1, 2, 3, 4], [3, 4, 5, 6]]);
});

test('time windows: tumbling by event time with a watermark; late inputs are counted and left out', () => {
  const spec: WindowSpec = { by: 'time', sizeMs: 10, slideMs: 10, allowedLatenessMs: 5 };
  // 12 arrives out of order within the lateness; 3 arrives after window [0, 10) closed (watermark 16 − 5 = 11).
  const { closed, late } = run(spec, [[1, 1], [2, 8], [3, 14], [4, 12], [5, 16], [6, 3], [7, 25], [8, 41]]);
  assert.deepEqual(closed.map((c) => [c.start, c.end, c.items]), [[0, 10, [1, 2]], [10, 20, [3, 4, 5]], [20, 30, [7]], [40, 50, [8]]]);
  assert.equal(late, 1);
});

test('time windows: sliding windows are merges of panes, empty stretches are skipped', () => {
  const spec: WindowSpec = { by: 'time', sizeMs: 20, slideMs: 10, allowedLatenessMs: 0 };
  const { closed } = run(spec, [[1, 0], [2, 15], [3, 25], [4, 1_000_000]]);
  assert.deepEqual(closed.map((c) => [c.start, c.items]), [[0, [1, 2]], [10, [2, 3]], [20, [3]], [999_990, [4]], [1_000_000, [4]]]);
});

test('time windows: open panes stay bounded by (size + lateness)/slide whatever the rate', () => {
  const spec: WindowSpec = { by: 'time', sizeMs: 1000, slideMs: 250, allowedLatenessMs: 500 };
  const inputs: [number, number][] = Array.from({ length: 100_000 }, (_, i) => [i, i * 3]);
  const { maxPanes, late } = run(spec, inputs);
  assert.equal(late, 0);
  assert.ok(maxPanes <= (1000 + 500) / 250 + 2, `panes ${maxPanes}`);
});
