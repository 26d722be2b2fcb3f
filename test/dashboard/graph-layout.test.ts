import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assignLayers, DEFAULT_SIZES, edgePath, layoutGraph } from '../../src/dashboard/lib/graph-layout.js';
import type { GraphNodeInput } from '../../src/dashboard/lib/graph-layout.js';

const DEMO: GraphNodeInput[] = [
  { id: 'images', from: [], role: 'source' },
  { id: 'decode', from: ['images'], role: 'operator' },
  { id: 'batch', from: ['decode'], role: 'operator' },
  { id: 'infer', from: ['batch'], role: 'operator' },
  { id: 'print', from: ['infer'], role: 'sink' },
  { id: 'predictions', from: ['infer'], role: 'sink' },
  { id: 'dead-letters', from: [], role: 'sink' },
];

test('layout: a chain gets one layer per step; a dead-letter sink with no inputs joins the last layer', () => {
  const layers = assignLayers(DEMO);
  assert.deepEqual(Object.fromEntries(layers), { images: 0, decode: 1, batch: 2, infer: 3, print: 4, predictions: 4, 'dead-letters': 4 });
});

test('layout: a layer is the longest path from a source, not the shortest', () => {
  const layers = assignLayers([
    { id: 'a', from: [], role: 'source' },
    { id: 'b', from: ['a'] },
    { id: 'c', from: ['b'] },
    { id: 'join', from: ['a', 'c'] },
    { id: 'b2', from: [], role: 'source' },
  ]);
  assert.equal(layers.get('join'), 3);
  assert.equal(layers.get('b2'), 0);
});

test('layout: unknown inputs, self-references and cycles neither loop nor throw', () => {
  const layers = assignLayers([
    { id: 'x', from: ['ghost', 'x'], role: 'source' },
    { id: 'p', from: ['q'] },
    { id: 'q', from: ['p'] },
  ]);
  assert.equal(layers.get('x'), 0);
  assert.ok(layers.has('p') && layers.has('q'));
});

test('layout: nodes get distinct boxes inside the drawing, columns by layer, centred vertically', () => {
  const layout = layoutGraph(DEMO);
  const { nodeWidth, nodeHeight, margin } = DEFAULT_SIZES;
  assert.equal(layout.nodes.length, DEMO.length);
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const node of layout.nodes) {
    assert.ok(node.x >= margin && node.x + nodeWidth <= layout.width - margin + 1e-9, node.id);
    assert.ok(node.y >= margin && node.y + nodeHeight <= layout.height - margin + 1e-9, node.id);
  }
  const boxes = layout.nodes.map((n) => `${n.x},${n.y}`);
  assert.equal(new Set(boxes).size, boxes.length, 'no two nodes overlap');
  assert.ok((byId.get('images')?.x ?? 0) < (byId.get('decode')?.x ?? 0));
  assert.equal(byId.get('print')?.x, byId.get('dead-letters')?.x);
  // The single-node columns sit in the middle of the three-node last column.
  assert.equal(byId.get('infer')?.y, byId.get('predictions')?.y);
});

test('layout: one edge per input, from the right side of the input to the left side of the node', () => {
  const layout = layoutGraph(DEMO);
  assert.deepEqual(
    layout.edges.map((e) => `${e.from}->${e.to}`),
    ['images->decode', 'decode->batch', 'batch->infer', 'infer->print', 'infer->predictions'],
  );
  const images = layout.nodes.find((n) => n.id === 'images');
  const decode = layout.nodes.find((n) => n.id === 'decode');
  assert.ok(images !== undefined && decode !== undefined);
  const { nodeWidth, nodeHeight } = DEFAULT_SIZES;
  assert.equal(layout.edges[0]?.path, edgePath(images.x + nodeWidth, images.y + nodeHeight / 2, decode.x, decode.y + nodeHeight / 2));
  assert.match(layout.edges[0]?.path ?? '', /^M[\d.]+,[\d.]+ C/);
});

test('layout: within a layer, nodes follow the order of their inputs to avoid crossings', () => {
  const layout = layoutGraph([
    { id: 's1', from: [], role: 'source' },
    { id: 's2', from: [], role: 'source' },
    { id: 'from-s2', from: ['s2'] },
    { id: 'from-s1', from: ['s1'] },
  ]);
  const order = new Map(layout.nodes.map((n) => [n.id, n.order]));
  assert.equal(order.get('from-s1'), 0);
  assert.equal(order.get('from-s2'), 1);
});

test('layout: an empty topology has an empty drawing', () => {
  const layout = layoutGraph([]);
  assert.deepEqual(layout.nodes, []);
  assert.deepEqual(layout.edges, []);
  assert.ok(layout.width >= 0 && layout.height >= 0);
});
