import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTopology } from '../../src/topology/load.js';
import { ConfigError } from '../../src/core/errors.js';
import type { ConfigIssue } from '../../src/core/errors.js';

/** Validates YAML text and returns its issues (none when valid). */
function issuesOf(yaml: string, env: Record<string, string> = {}): ConfigIssue[] {
  try {
    parseTopology(yaml, 'topo.yaml', { env });
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    return [...error.issues];
  }
}

const header = 'version: 1\nname: t\nnodes:\n';
const valid = `${header}  images: { kind: files-source, path: imgs }
  decode: { kind: decode-image, from: [images] }
  out: { kind: files-sink, from: [decode], dir: out }
`;

test('a valid topology loads with defaults filled in and a topological order', () => {
  const topology = parseTopology(valid, 'topo.yaml', { env: {} });
  assert.deepEqual(topology.order, ['images', 'decode', 'out']);
  const decode = topology.nodes.get('decode');
  assert.deepEqual(decode?.options.size, [224, 224]);
  assert.equal(decode?.options.scale, 'unit');
  assert.equal(topology.limits.maxInFlight, 1024);
  assert.equal(topology.deadLetter, null);
});

test('JSON topologies load too', () => {
  const json = JSON.stringify({ version: 1, name: 'j', nodes: { s: { kind: 'files-source', path: 'x' }, o: { kind: 'files-sink', from: ['s'], dir: 'o' } } });
  assert.equal(parseTopology(json, 'topo.json', { env: {} }).nodes.size, 2);
});

interface Case {
  name: string;
  yaml: string;
  line: number;
  column: number;
  node?: string;
  message: RegExp;
  suggestion?: RegExp;
}

const cases: Case[] = [
  {
    name: 'unknown kind, with the closest kind',
    yaml: `${header}  images: { kind: files-sorce, path: x }\n  out: { kind: files-sink, from: [images], dir: o }\n`,
    line: 4, column: 19, node: 'images', message: /unknown kind `files-sorce`/, suggestion: /did you mean `files-source`/,
  },
  {
    name: 'unknown field, with the closest field',
    yaml: `${header}  images: { kind: files-source, path: x }\n  decode:\n    kind: decode-image\n    from: [images]\n    sise: [224, 224]\n  out: { kind: files-sink, from: [decode], dir: o }\n`,
    line: 8, column: 5, node: 'decode', message: /unknown field `sise`/, suggestion: /did you mean `size`/,
  },
  {
    name: 'from naming a missing node',
    yaml: `${header}  images: { kind: files-source, path: x }\n  out: { kind: files-sink, from: [imagez], dir: o }\n`,
    line: 5, column: 35, node: 'out', message: /`from` names unknown node `imagez`/, suggestion: /did you mean `images`/,
  },
  {
    name: 'a cycle, with its whole chain',
    yaml: `${header}  images: { kind: files-source, path: x }\n  a: { kind: decode-image, from: [images, c] }\n  b: { kind: decode-image, from: [a] }\n  c: { kind: decode-image, from: [b] }\n  out: { kind: files-sink, from: [c], dir: o }\n`,
    line: 5, column: 28, node: 'a', message: /cycle: `a` → `b` → `c` → `a`/, suggestion: /acyclic/,
  },
  {
    name: 'a type error, with the expected type',
    yaml: `${header}  images: { kind: files-source, path: x }\n  batch: { kind: micro-batch, from: [images], maxSize: "32" }\n  out: { kind: files-sink, from: [batch], dir: o }\n`,
    line: 5, column: 56, node: 'batch', message: /field `maxSize` must be an integer, got string "32"/, suggestion: /without quotes/,
  },
  {
    name: 'a value outside an enumeration, with the closest value',
    yaml: `${header}  images: { kind: files-source, path: x }\n  decode: { kind: decode-image, from: [images], fit: fil }\n  out: { kind: files-sink, from: [decode], dir: o }\n`,
    line: 5, column: 54, node: 'decode', message: /field `fit` must be one of `fill`/, suggestion: /did you mean `fill`/,
  },
  {
    name: 'a source with from',
    yaml: `${header}  images: { kind: files-source, path: x }\n  more: { kind: files-source, path: y, from: [images] }\n  out: { kind: files-sink, from: [images, more], dir: o }\n`,
    line: 5, column: 40, node: 'more', message: /a source takes no `from`/, suggestion: /remove `from`/,
  },
  {
    name: 'a node that reaches no sink',
    yaml: `${header}  images: { kind: files-source, path: x }\n  decode: { kind: decode-image, from: [images] }\n  out: { kind: files-sink, from: [images], dir: o }\n`,
    line: 5, column: 3, node: 'decode', message: /reaches no sink/, suggestion: /add a sink with `from: \[decode\]`/,
  },
  {
    name: 'a missing required field',
    yaml: `${header}  images: { kind: files-source, path: x }\n  out: { kind: files-sink, from: [images] }\n`,
    line: 5, column: 8, node: 'out', message: /missing required field `dir`/,
  },
  {
    name: 'an operator without from',
    yaml: `${header}  images: { kind: files-source, path: x }\n  decode: { kind: decode-image }\n  out: { kind: files-sink, from: [images], dir: o }\n`,
    line: 5, column: 3, node: 'decode', message: /an? operator needs `from`/, suggestion: /from: \[images\]/,
  },
  {
    name: 'duplicate node names',
    yaml: `${header}  images: { kind: files-source, path: x }\n  images: { kind: files-source, path: y }\n  out: { kind: files-sink, from: [images], dir: o }\n`,
    line: 5, column: 3, message: /duplicate name/,
  },
  {
    name: 'an output claimed twice',
    yaml: `${header}  images: { kind: files-source, path: x }\n  a: { kind: files-sink, from: [images], dir: o, prefix: p }\n  b: { kind: files-sink, from: [images], dir: o, prefix: p }\n`,
    line: 6, column: 3, node: 'b', message: /already used by node `a`/,
  },
  {
    name: 'from naming a sink',
    yaml: `${header}  images: { kind: files-source, path: x }\n  a: { kind: files-sink, from: [images], dir: o }\n  b: { kind: files-sink, from: [a], dir: o2 }\n`,
    line: 6, column: 33, node: 'b', message: /`from` names `a`, a sink/,
  },
  {
    name: 'an unknown top-level field',
    yaml: `version: 1\nname: t\nnodez: {}\n`,
    line: 3, column: 1, message: /unknown field `nodez`/, suggestion: /did you mean `nodes`/,
  },
  {
    name: 'a YAML syntax error',
    yaml: `version: 1\nname: t\nnodes:\n  a: { kind: files-source, path: x\n`,
    line: 5, column: 1, message: /syntax error/,
  },
  {
    name: 'an unknown field in the chosen `backend` variant, named by its kind alone',
    yaml: `${header}  images: { kind: files-source, path: x }\n  infer:\n    kind: infer\n    from: [images]\n    model: { path: m }\n    backend: { kind: kserve, endpont: 127.0.0.1:8001 }\n  out: { kind: files-sink, from: [infer], dir: o }\n`,
    line: 9, column: 30, node: 'infer', message: /^unknown field `endpont` in `backend`$/, suggestion: /did you mean `endpoint`/,
  },
  {
    name: 'an unknown backend kind, with the closest kind',
    yaml: `${header}  images: { kind: files-source, path: x }\n  infer:\n    kind: infer\n    from: [images]\n    model: { path: m }\n    backend: { kind: kserv, endpoint: x }\n  out: { kind: files-sink, from: [infer], dir: o }\n`,
    line: 9, column: 22, node: 'infer', message: /field `backend.kind` must be one of `onnx`, `kserve`, `tfjs`, got string "kserv"/, suggestion: /did you mean `kserve`/,
  },
  {
    name: 'a missing environment variable',
    yaml: `${header}  images: { kind: files-source, path: "\${IMAGE_DIR}" }\n  out: { kind: files-sink, from: [images], dir: o }\n`,
    line: 4, column: 39, message: /environment variable `IMAGE_DIR` is not set/,
  },
];

for (const c of cases) {
  test(`reports ${c.name} with file:line:column, node and a suggestion`, () => {
    const issues = issuesOf(c.yaml);
    const issue = issues.find((i) => c.message.test(i.message));
    assert.ok(issue, `no issue matching ${String(c.message)} in:\n${issues.map((i) => `${i.line}:${i.column} ${i.message}`).join('\n')}`);
    assert.equal(issue.file, 'topo.yaml');
    assert.deepEqual([issue.line, issue.column], [c.line, c.column], `${issue.message} located at ${issue.line}:${issue.column}`);
    if (c.node !== undefined) assert.equal(issue.node, c.node);
    if (c.suggestion !== undefined) assert.match(issue.suggestion ?? '', c.suggestion);
  });
}

test('a tagged backend union reports only the variant its kind names', () => {
  const yaml = `${header}  images: { kind: files-source, path: x }\n  infer: { kind: infer, from: [images], model: { path: m }, backend: { kind: kserve, protocol: grcp } }\n  out: { kind: files-sink, from: [infer], dir: o }\n`;
  assert.deepEqual(
    issuesOf(yaml).map((i) => `${i.message}${i.suggestion === undefined ? '' : `; ${i.suggestion}`}`),
    ['missing required field `backend.endpoint`; add `endpoint`', 'field `backend.protocol` must be one of `grpc`, `http`, got string "grcp"; did you mean `grpc`?'],
  );
  const valid = parseTopology(yaml.replace('protocol: grcp', 'protocol: http, endpoint: "http://h:8000"'), 'topo.yaml', { env: {} });
  assert.deepEqual(valid.nodes.get('infer')?.options.backend, { kind: 'kserve', protocol: 'http', endpoint: 'http://h:8000' });
});

test('reports every problem of a file in one pass, in file order', () => {
  const yaml = `${header}  images: { kind: files-sorce, path: x }\n  decode: { kind: decode-image, from: [imagez], sise: 1 }\n  out: { kind: files-sink, from: [decode] }\n`;
  const issues = issuesOf(yaml);
  assert.ok(issues.length >= 4, issues.map((i) => i.message).join('\n'));
  const lines = issues.map((i) => i.line);
  assert.deepEqual(lines, [...lines].sort((a, b) => a - b));
});

test('substitutes ${ENV} values, typed when the whole value is a reference, and never echoes them in errors', () => {
  const yaml = `${header}  images: { kind: files-source, path: "\${DIR}/in" }\n  batch: { kind: micro-batch, from: [images], maxSize: "\${SIZE}" }\n  out: { kind: files-sink, from: [batch], dir: o }\n`;
  const topology = parseTopology(yaml, 'topo.yaml', { env: { DIR: '/data', SIZE: '16' } });
  assert.equal(topology.nodes.get('images')?.options.path, '/data/in');
  assert.equal(topology.nodes.get('batch')?.options.maxSize, 16);
  const issues = issuesOf(yaml, { DIR: '/data', SIZE: 'hunter2' });
  const issue = issues.find((i) => /maxSize/.test(i.message));
  assert.ok(issue);
  assert.doesNotMatch(issue.message, /hunter2/);
  assert.match(issue.message, /from the environment/);
});

test('cross-field rules (a spec’s validate hook) are reported in the same pass, at the option’s position', () => {
  const yaml = `${header}  uploads: { kind: files-sorce, path: x }
  fetch:
    kind: fetch-object
    from: [uploads]
    allow: ["s3://lake/uploads/", "file:///srv", "http://example.com/", "s3://Bad_Bucket/x"]
  out: { kind: files-sink, from: [fetch], dir: out }
`;
  const issues = issuesOf(yaml);
  const fetch = issues.filter((i) => i.node === 'fetch');
  assert.deepEqual(fetch.map((i) => [i.line, i.message]), [
    [8, '`file://` does not belong in `allow`'],
    [8, '`http://example.com/` is not an s3:// or azure:// prefix'],
    [8, '`Bad_Bucket` is not a valid bucket name'],
  ]);
  assert.match(fetch[0]?.suggestion ?? '', /fileBase/);
  assert.ok(issues.some((i) => i.node === 'uploads' && /unknown kind/.test(i.message)), 'schema and graph problems in the same run');
});

test('an unset ${VAR} is one error, not also a schema complaint about the empty value', () => {
  const issues = issuesOf(`${header}  images: { kind: files-source, path: "\${IMAGE_DIR}" }\n  out: { kind: files-sink, from: [images], dir: out }\n`);
  assert.deepEqual(issues.map((i) => [i.line, i.message]), [[4, 'environment variable `IMAGE_DIR` is not set']]);
});

test('a YAML syntax error is one error, explained when an unquoted ${VAR} opens a mapping inside braces', () => {
  const yaml = `${header}  images: { kind: files-source, path: \${DATA}/quickstart }
  decode: { kind: decode-image, from: [images], size: [224, 224] }
  out: { kind: files-sink, from: [decode], dir: out }
`;
  const issues = issuesOf(yaml, { DATA: 'data' });
  assert.equal(issues.length, 1, issues.map((i) => i.message).join('\n'));
  assert.equal(issues[0]?.line, 4);
  assert.match(issues[0]?.message ?? '', /^syntax error: `\$\{DATA\}\/quickstart` inside `\{ … \}`/);
  assert.equal(issues[0]?.suggestion, 'quote the value: "${DATA}/quickstart"');
  // Quoted, the same line is valid.
  assert.deepEqual(issuesOf(yaml.replace('${DATA}/quickstart', '"${DATA}/quickstart"'), { DATA: 'data' }), []);
  // Another syntax error keeps the parser's words, still once.
  const other = issuesOf(`${header}  images: { kind: files-source, path: x\n  out: [\n`);
  assert.equal(other.length, 1);
  assert.match(other[0]?.message ?? '', /^syntax error: /);
});
