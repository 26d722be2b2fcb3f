/**
 * Fuzzing topology loading: `parseTopology` (the text checks) and `loadTopologyFile` (the same plus
 * the model manifests) on random text, random YAML-ish token soup, any JSON value dumped as YAML,
 * topology-shaped maps of random kinds and options, documents of anchors and aliases (missing,
 * self-containing, multiplying), and mutated copies of the real topologies in `topologies/` (lines
 * deleted, repeated, swapped, replaced or re-indented; characters inserted, replaced or cut; random
 * values, deletions and renamed keys at random paths). Each gives a topology or a `ConfigError`
 * (`CONFIG_INVALID`, or `CONFIG_ENV_MISSING`) whose issues point at a line and column of the text —
 * never a raw error (the YAML library's alias errors included) — and nothing lands on
 * `Object.prototype`. A `${NAME}` reference resolves only to a text value of the environment, never
 * to what every object inherits (`${constructor}`, `${__proto__}`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { ConfigError } from '../../src/core/errors.js';
import type { ErrorCode } from '../../src/core/errors.js';
import { allComponents } from '../../src/topology/registry.js';
import { loadTopologyFile, parseTopology } from '../../src/topology/load.js';
import { assertPrototypeClean, describe, typedOutcome, typedOutcomeSync } from '../helpers/fuzz.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const TOPOLOGIES = path.join(ROOT, 'topologies');
const REAL = readdirSync(TOPOLOGIES)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ name: f, text: readFileSync(path.join(TOPOLOGIES, f), 'utf8') }));
/** Every variable the real topologies name, set: they load, so their mutations reach every check. */
const ENV = { KAFKA_BROKERS: '127.0.0.1:9092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081', REDIS_URL: 'redis://127.0.0.1:6379', LABEL_STUDIO_URL: 'http://127.0.0.1:8089', LABEL_STUDIO_TOKEN: 'token', MLFLOW_URL: 'http://127.0.0.1:5000', PORT: '8080' };
const CODES: readonly ErrorCode[] = ['CONFIG_INVALID', 'CONFIG_ENV_MISSING'];
const FILE = path.join(TOPOLOGIES, 'fuzz.yaml');
const KINDS = allComponents.map((c) => c.kind);

// The YAML library warns once per map key that is itself a collection (`? [a]: 1`); that is not a failure.
process.removeAllListeners('warning');

/** Parses one text: a topology, or a ConfigError whose every issue points into the text. */
function parses(text: string): void {
  let thrown: unknown;
  typedOutcomeSync(
    () => {
      try {
        parseTopology(text, FILE, { env: ENV });
      } catch (error) {
        thrown = error;
        throw error;
      }
    },
    CODES,
    () => describe(text, 800),
  );
  if (thrown instanceof ConfigError) {
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const issue of thrown.issues) {
      assert.ok(Number.isInteger(issue.line) && issue.line >= 1 && issue.line <= lines + 1, `issue line ${issue.line} of ${lines}: ${issue.message}\n  input: ${describe(text, 800)}`);
      assert.ok(Number.isInteger(issue.column) && issue.column >= 1, `issue column ${issue.column}: ${issue.message}`);
      assert.ok(issue.message.length > 0);
    }
  }
}

/** Pieces of YAML syntax, for token soup and insertions: indicators, anchors, aliases, tags, directives, merges, env references. */
const YAML_TOKENS = [
  ':', ': ', '-', '- ', ' ', '  ', '\n', '\n  ', '\t', '{', '}', '[', ']', ',', '&a ', '*a', '&b ', '*b', '!!str ', '!!int ', '!!binary ', '!!set ', '!!map ', '!!timestamp ', '!local ',
  '|', '>-', '#', '"', "'", '%YAML 1.2\n', '---\n', '...\n', '<<: ', '? ', '~', 'null', '0x1F', '1e999', '.inf', '.nan', '-0', '${KAFKA_BROKERS}', '${UNSET_NAME}', '${constructor}', '$${X}', '${',
  '__proto__', 'constructor', 'version', 'name', 'nodes', 'kind', 'from', 'deadLetter', 'limits', ...KINDS.slice(0, 8), '\u0000', '\ufeff', '\u2028', 'é',
];
const token = fc.constantFrom(...YAML_TOKENS);
const soup = fc.array(fc.oneof({ weight: 4, arbitrary: token }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), { maxLength: 40 }).map((parts) => parts.join(''));

test('the real topologies load (so their mutations start from valid files)', () => {
  for (const { name, text } of REAL) assert.doesNotThrow(() => parseTopology(text, path.join(TOPOLOGIES, name), { env: ENV }), name);
});

test('random text gives a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.string({ unit: 'grapheme-composite', maxLength: 40 })), (text) => parses(text)),
    { seed: 0x5eed_d001, numRuns: 400 },
  );
});

test('YAML token soup (anchors, aliases, tags, merges, directives, env references) gives a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(soup, (text) => parses(text)),
    { seed: 0x5eed_d002, numRuns: 1500 },
  );
  assertPrototypeClean();
});

/**
 * A YAML node in flow style built from anchors and aliases: scalars, aliases (`*a`), and sequences
 * and maps that may carry an anchor (`&a`) — aliases before, after and inside their anchors, and
 * aliases of collections that hold aliases (expansions that multiply).
 */
const ANCHORS = ['a', 'b', 'c'];
const { node: anchoredNode } = fc.letrec<{ node: string; collection: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom('x', '1', 'files-source', '"${KAFKA_BROKERS}"', '~'),
    fc.constantFrom(...ANCHORS).map((a) => `*${a}`),
    tie('collection'),
  ),
  collection: fc
    .record({
      anchor: fc.option(fc.constantFrom(...ANCHORS), { nil: undefined }),
      map: fc.boolean(),
      items: fc.array(tie('node'), { maxLength: 6 }),
    })
    .map(({ anchor, map, items }) => `${anchor === undefined ? '' : `&${anchor} `}${map ? `{ ${items.map((v, i) => `k${i}: ${v}`).join(', ')} }` : `[ ${items.join(', ')} ]`}`),
}));

test('documents of anchors and aliases (missing, later, self-containing, multiplying) give a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(fc.array(anchoredNode, { minLength: 1, maxLength: 5 }), fc.boolean(), (values, asNodes) => {
      const body = values.map((v, i) => `  n${i}: ${v}`).join('\n');
      parses(asNodes ? `version: 1\nname: x\nnodes:\n${body}\n` : `version: 1\nname: x\nnodes: {}\nextra:\n${body}\n`);
    }),
    { seed: 0x5eed_d009, numRuns: 1000 },
  );
  assertPrototypeClean();
});

test('chains of anchors whose aliases multiply (up to 12^6 expansions) give a topology or CONFIG_INVALID, quickly', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 12 }), fc.boolean(), (depth, width, flow) => {
      const levels = Array.from({ length: depth }, (_, i) => {
        const items = Array(width).fill(i === 0 ? 'x' : `*l${i - 1}`);
        return `  l${i}: &l${i} ${flow ? `[${items.join(', ')}]` : `\n${items.map((v) => `    - ${v}`).join('\n')}`}`;
      });
      parses(`version: 1\nname: x\nnodes: {}\nextra:\n${levels.join('\n')}\n`);
    }),
    { seed: 0x5eed_d00a, numRuns: 100 },
  );
});

test('any JSON value dumped as YAML gives a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => parses(stringifyYaml(value))),
    { seed: 0x5eed_d003, numRuns: 300 },
  );
});

/** A topology-shaped map: the right top-level fields, nodes of real kinds with random `from` and random options. */
const nodeId = fc.oneof(fc.constantFrom('src', 'decode', 'batch', 'infer', 'out', 'dead', '__proto__', 'constructor', '9bad', 'a b'), fc.string({ minLength: 1, maxLength: 6 }));
const optionValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom('${KAFKA_BROKERS}', '${UNSET_NAME}', '${toString}', 'unit', 'imagenet', [224, 224], { path: '../models/demo' }, { url: '${SCHEMA_REGISTRY_URL}' }));
const optionKey = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('path', 'dir', 'brokers', 'topics', 'topic', 'groupId', 'schemaRegistry', 'size', 'scale', 'maxSize', 'maxDelayMs', 'model', 'format', 'value', 'mode', 'namespace', 'exactlyOnce', 'client', '__proto__'));
const topologyShaped = fc.record(
  {
    version: fc.oneof(fc.constant(1), fc.jsonValue({ maxDepth: 1 })),
    name: fc.oneof(fc.constantFrom('fuzz', 'a.b-c'), fc.string({ maxLength: 8 })),
    deadLetter: nodeId,
    limits: fc.oneof(fc.dictionary(fc.constantFrom('maxInFlight', 'commitIntervalMs', 'drainTimeoutMs', 'other'), fc.oneof(fc.integer(), fc.jsonValue({ maxDepth: 1 })), { maxKeys: 3 }), fc.jsonValue({ maxDepth: 1 })),
    nodes: fc.dictionary(
      nodeId,
      fc.record({ kind: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...KINDS) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) }), from: fc.oneof(nodeId, fc.array(nodeId, { maxLength: 3 }), fc.jsonValue({ maxDepth: 1 })), options: fc.dictionary(optionKey, optionValue, { maxKeys: 4 }) }, { requiredKeys: ['kind'] })
        .map(({ options, ...node }) => ({ ...options, ...node })),
      { maxKeys: 6 },
    ),
  },
  { requiredKeys: ['version', 'name', 'nodes'] },
);

test('topology-shaped maps with random kinds, `from` lists and options give a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(topologyShaped, (value) => parses(stringifyYaml(value))),
    { seed: 0x5eed_d004, numRuns: 800 },
  );
  assertPrototypeClean();
});

/** One textual change to a real topology. */
type TextMutation =
  | { readonly op: 'delete-line' | 'repeat-line' | 'indent-line' | 'dedent-line'; readonly at: number }
  | { readonly op: 'swap-lines'; readonly at: number; readonly to: number }
  | { readonly op: 'replace-line'; readonly at: number; readonly text: string }
  | { readonly op: 'insert' | 'replace'; readonly at: number; readonly text: string }
  | { readonly op: 'cut'; readonly at: number; readonly length: number }
  | { readonly op: 'truncate'; readonly at: number };

const insertion = fc.oneof(token, fc.array(token, { minLength: 1, maxLength: 4 }).map((t) => t.join('')), fc.string({ maxLength: 6 }));
const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ op: fc.constantFrom('delete-line' as const, 'repeat-line' as const, 'indent-line' as const, 'dedent-line' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('swap-lines' as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant('replace-line' as const), at: fc.nat(), text: insertion }),
  fc.record({ op: fc.constantFrom('insert' as const, 'replace' as const), at: fc.nat(), text: insertion }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutateText(text: string, m: TextMutation): string {
  const lines = text.split('\n');
  const i = m.at % Math.max(1, lines.length);
  const c = m.at % (text.length + 1);
  switch (m.op) {
    case 'delete-line':
      return [...lines.slice(0, i), ...lines.slice(i + 1)].join('\n');
    case 'repeat-line':
      return [...lines.slice(0, i + 1), ...lines.slice(i)].join('\n');
    case 'indent-line':
      return lines.map((l, k) => (k === i ? `  ${l}` : l)).join('\n');
    case 'dedent-line':
      return lines.map((l, k) => (k === i ? l.replace(/^ {1,2}/, '') : l)).join('\n');
    case 'swap-lines': {
      const j = m.to % Math.max(1, lines.length);
      const out = [...lines];
      [out[i], out[j]] = [lines[j] ?? '', lines[i] ?? ''];
      return out.join('\n');
    }
    case 'replace-line':
      return lines.map((l, k) => (k === i ? m.text : l)).join('\n');
    case 'insert':
      return text.slice(0, c) + m.text + text.slice(c);
    case 'replace':
      return text.slice(0, c) + m.text + text.slice(c + m.text.length);
    case 'cut':
      return text.slice(0, c) + text.slice(c + m.length);
    case 'truncate':
      return text.slice(0, c);
  }
}

const realTopology = fc.constantFrom(...REAL);

test('real topologies with lines and characters deleted, repeated, swapped, replaced or re-indented give a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(realTopology, fc.array(textMutation, { minLength: 1, maxLength: 5 }), (real, mutations) => parses(mutations.reduce(mutateText, real.text))),
    { seed: 0x5eed_d005, numRuns: 1500 },
  );
  assertPrototypeClean();
});

/** Every path of a parsed document, to containers and leaves alike. */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const found: (string | number)[][] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => found.push(...paths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) found.push(...paths(v, [...prefix, k]));
  return found;
}

/** A change at a path of the parsed document: a random value set, the entry deleted, or its key renamed. */
type TreeMutation = { readonly at: number; readonly op: 'set'; readonly value: unknown } | { readonly at: number; readonly op: 'delete' } | { readonly at: number; readonly op: 'rename'; readonly key: string };
const treeMutation: fc.Arbitrary<TreeMutation> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ at: fc.nat(), op: fc.constant('set' as const), value: fc.oneof(fc.jsonValue({ maxDepth: 2 }), optionValue, fc.constantFrom(...KINDS), nodeId) }) },
  { weight: 1, arbitrary: fc.record({ at: fc.nat(), op: fc.constant('delete' as const) }) },
  { weight: 1, arbitrary: fc.record({ at: fc.nat(), op: fc.constant('rename' as const), key: fc.oneof(nodeId, optionKey) }) },
);

function mutateTree(root: unknown, m: TreeMutation): unknown {
  const all = paths(root);
  const p = all[m.at % all.length] ?? [];
  if (p.length === 0) return m.op === 'set' ? m.value : root;
  const parent = p.slice(0, -1).reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], root) as Record<string | number, unknown> | unknown[];
  const last = p[p.length - 1] as string | number;
  if (m.op === 'set') {
    Object.defineProperty(parent, last, { value: m.value, enumerable: true, writable: true, configurable: true });
  } else if (Array.isArray(parent) && typeof last === 'number') {
    parent.splice(last, 1);
  } else if (m.op === 'delete') {
    delete (parent as Record<string, unknown>)[last];
  } else {
    const value = (parent as Record<string, unknown>)[last];
    delete (parent as Record<string, unknown>)[last];
    Object.defineProperty(parent, m.key, { value, enumerable: true, writable: true, configurable: true });
  }
  return root;
}

test('real topologies with random values, deletions and renamed keys at random paths give a topology or CONFIG_INVALID', () => {
  fc.assert(
    fc.property(realTopology, fc.array(treeMutation, { minLength: 1, maxLength: 4 }), (real, mutations) => {
      const tree = mutations.reduce(mutateTree, parseYaml(real.text) as unknown);
      parses(stringifyYaml(tree));
    }),
    { seed: 0x5eed_d006, numRuns: 800 },
  );
  assertPrototypeClean();
});

let dir: string;
before(async () => {
  // A folder beside which `../models` and `../data` resolve as from `topologies/`, so model manifests are read.
  dir = await mkdtemp(path.join(tmpdir(), 'centaur-fuzz-'));
  await mkdir(path.join(dir, 'topologies'));
  await symlink(path.join(ROOT, 'models'), path.join(dir, 'models'));
  await symlink(path.join(ROOT, 'data'), path.join(dir, 'data'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('loadTopologyFile (model manifests read too) on mutated real topologies gives a topology or CONFIG_INVALID', async () => {
  let n = 0;
  await fc.assert(
    fc.asyncProperty(realTopology, fc.array(fc.oneof(textMutation.map((m) => ({ text: m })), treeMutation.map((m) => ({ tree: m }))), { maxLength: 3 }), async (real, mutations) => {
      let text = real.text;
      for (const m of mutations) {
        if ('text' in m) text = mutateText(text, m.text);
        else {
          let tree: unknown;
          try {
            tree = parseYaml(text) as unknown;
          } catch {
            continue; // the text no longer parses: its tree cannot be changed
          }
          text = stringifyYaml(mutateTree(tree, m.tree));
        }
      }
      const file = path.join(dir, 'topologies', `t${(n += 1)}.yaml`);
      await writeFile(file, text);
      await typedOutcome(() => loadTopologyFile(file, { env: ENV }), CODES, () => describe(text, 800));
    }),
    { seed: 0x5eed_d007, numRuns: 200 },
  );
});

const refused = (text: string, message: RegExp, line?: number): void => {
  assert.throws(
    () => parseTopology(text, FILE, { env: ENV }),
    (e: unknown) => e instanceof ConfigError && e.code === 'CONFIG_INVALID' && e.issues.some((i) => message.test(i.message) && (line === undefined || i.line === line)),
  );
};

test('found by fuzzing (token soup, mutated topologies): an alias without its anchor is CONFIG_INVALID at the alias (it was a raw ReferenceError)', () => {
  refused('*a', /cannot expand a YAML alias: Unresolved alias .*: a/, 1);
  refused('version: 1\nname: x\nnodes:\n  s: *b\n', /Unresolved alias/, 4);
  refused('version: 1\nname: x\nnodes: { s: { kind: files-source, path: *later } }\nother: &later here\n', /Unresolved alias/, 3);
});

test('found by fuzzing (anchors and aliases): an alias inside the node its anchor names is CONFIG_INVALID (it was a RangeError: Maximum call stack size exceeded)', () => {
  refused('version: 1\nname: x\nnodes: &a\n  s: { kind: files-source, path: x, extra: [*a] }\n', /alias `\*a` is inside the node its anchor names/, 4);
  refused('a: &a [*a]', /alias `\*a` is inside/, 1);
});

test('found by fuzzing (alias chains): a "billion laughs" file is CONFIG_INVALID, not an expansion (it was a raw ReferenceError)', () => {
  const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...['b', 'c', 'd', 'e', 'f', 'g'].map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n');
  refused(laughs, /Excessive alias count/);
});

test('`${NAME}` resolves to text only: `${constructor}`, `${__proto__}`, `${toString}` are not set', () => {
  for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    refused(`version: 1\nname: "\${${name}}"\nnodes: {}\n`, new RegExp(`environment variable \`${name}\` is not set`), 2);
  }
  fc.assert(
    fc.property(
      fc.constantFrom('constructor', '__proto__', 'toString', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable', 'toLocaleString', '__defineGetter__'),
      fc.constantFrom('description: "${N}"\nnodes: {}', 'nodes:\n  s: { kind: files-source, path: "${N}" }', 'nodes:\n  s: { kind: files-source, path: "x/${N}/y" }'),
      (name, rest) => refused(`version: 1\nname: x\n${rest.replace('N', name)}\n`, new RegExp(`environment variable \`${name}\` is not set`)),
    ),
    { seed: 0x5eed_d008, numRuns: 30 },
  );
});
