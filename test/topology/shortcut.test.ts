/**
 * The shortcut check: a `cache` lookup hands its hits straight to its store node, so validation
 * must refuse a topology where those hits would miss a sink, arrive twice, or find no store node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../src/topology/load.js';
import { ConfigError } from '../../src/core/errors.js';

const model = 'model: { name: m, version: "1" }';
const head = `version: 1
name: t
nodes:
  images: { kind: files-source, path: imgs }
  lookup: { kind: cache, mode: lookup, from: [images], ${model} }
  decode: { kind: decode-image, from: [lookup] }
  infer: { kind: infer, from: [decode], model: { path: m } }
`;

/** The messages of the problems validation finds (none when the topology is valid). */
function problems(yaml: string): string[] {
  try {
    parseTopology(yaml, 'topo.yaml', { env: {} });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.issues.map((i) => `${i.node ?? ''}: ${i.message}`);
  }
}

test('a lookup whose every path to a sink passes its store node is valid', () => {
  const yaml = `${head}  store: { kind: cache, mode: store, from: [infer] }
  out: { kind: files-sink, from: [store], dir: o }
  audit: { kind: files-sink, from: [store], dir: a }
`;
  assert.deepEqual(problems(yaml), []);
});

test('a sink fed between lookup and store is refused, naming the path around the store', () => {
  const yaml = `${head}  store: { kind: cache, mode: store, from: [infer] }
  out: { kind: files-sink, from: [store], dir: o }
  raw: { kind: files-sink, from: [decode], dir: r }
`;
  const found = problems(yaml);
  assert.equal(found.length, 1, found.join('\n'));
  assert.match(found[0] ?? '', /^lookup: .*would never reach sink `raw` \(path `lookup` → `decode` → `raw` does not pass `store`\)/);
});

test('a lookup without a store node, or a store without a lookup, is refused', () => {
  assert.match(problems(`${head}  out: { kind: files-sink, from: [infer], dir: o }\n`).join('\n'), /^lookup: cache namespace `default`: the node that ends it .* is missing/);
  const storeOnly = `version: 1
name: t
nodes:
  images: { kind: files-source, path: imgs }
  decode: { kind: decode-image, from: [images] }
  infer: { kind: infer, from: [decode], model: { path: m } }
  store: { kind: cache, mode: store, from: [infer], namespace: x }
  out: { kind: files-sink, from: [store], dir: o }
`;
  assert.match(problems(storeOnly).join('\n'), /^store: cache namespace `x`: the node that starts it .* is missing/);
});

test('two paths from lookup to store are refused (inputs would reach the store twice)', () => {
  const yaml = `${head}  infer2: { kind: infer, from: [decode], model: { path: m } }
  store: { kind: cache, mode: store, from: [infer, infer2] }
  out: { kind: files-sink, from: [store], dir: o }
`;
  assert.match(problems(yaml).join('\n'), /^store: cache namespace `default`: 2 paths lead from `lookup` to `store`; exactly one may/);
});

test('a store node that is not downstream of its lookup is refused', () => {
  const yaml = `version: 1
name: t
nodes:
  images: { kind: files-source, path: imgs }
  lookup: { kind: cache, mode: lookup, from: [images], ${model} }
  out: { kind: files-sink, from: [lookup], dir: o }
  other: { kind: files-source, path: more }
  decode: { kind: decode-image, from: [other] }
  infer: { kind: infer, from: [decode], model: { path: m } }
  store: { kind: cache, mode: store, from: [infer] }
  out2: { kind: files-sink, from: [store], dir: o2 }
`;
  assert.match(problems(yaml).join('\n'), /^store: cache namespace `default`: `store` is not downstream of `lookup`/);
});

test('namespaces pair independently', () => {
  const yaml = `${head}  store: { kind: cache, mode: store, from: [infer] }
  lookup2: { kind: cache, mode: lookup, from: [images], namespace: b, ${model} }
  decode2: { kind: decode-image, from: [lookup2] }
  infer2: { kind: infer, from: [decode2], model: { path: m } }
  store2: { kind: cache, mode: store, from: [infer2], namespace: b }
  out: { kind: files-sink, from: [store, store2], dir: o }
`;
  assert.deepEqual(problems(yaml), []);
});
