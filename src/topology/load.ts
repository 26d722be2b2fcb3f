/**
 * Loads a topology file (YAML or JSON): parses it keeping positions, substitutes `${ENV}`
 * references, validates the file shape, every node's options and the graph, and reports every
 * problem at once with file:line:column, node id and a suggested fix.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Ajv } from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { LineCounter, parseDocument, visit } from 'yaml';
import type { Alias, Document } from 'yaml';
import { ConfigError } from '../core/errors.js';
import type { ConfigIssue } from '../core/errors.js';
import type { ComponentSpec } from '../core/component.js';
import { allComponents } from './registry.js';
import { TopologyShapeSchema } from './schema.js';
import type { HttpSettings, Limits, TracingSettings } from './schema.js';
import { findCycles, invert, pathAvoiding, pathCount, pathsToSinks, topologicalOrder } from './graph.js';
import { locate } from './locate.js';
import { explainSyntaxError, substituteEnv } from './env-substitution.js';
import { batchLimitWarnings } from './batch-limits.js';
import { ajvIssues } from './schema-issues.js';
import type { AjvIssue, Path } from './schema-issues.js';
import { modelProblems } from './model-checks.js';
import { suggestName } from './suggest.js';
import type { Topology, TopologyNode } from './topology.js';


const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: false });
const validateShape = ajv.compile(TopologyShapeSchema);
const optionValidators = new Map<string, ValidateFunction>();

const NODE_ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** Options for loading: the environment for `${NAME}` and the component registry. */
export interface LoadOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly components?: readonly ComponentSpec[];
}

/**
 * Reads and validates a topology file, including what the local models it names tell (their
 * manifests' input against the nodes feeding them); throws a ConfigError listing every problem.
 */
export async function loadTopologyFile(file: string, options: LoadOptions = {}): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    throw new ConfigError([{ file, line: 1, column: 1, message: `cannot read topology: ${reason}` }]);
  }
  const analysis = analyzeTopology(text, file, options);
  for (const problem of await modelProblems(analysis.nodes, analysis.invalid, analysis.baseDir)) {
    analysis.at([...problem.path], problem.message, { node: problem.node, ...(problem.suggestion === undefined ? {} : { suggestion: problem.suggestion }), ...(problem.warning === true ? { warning: true } : {}) });
  }
  return analysis.finish();
}

/**
 * Validates topology text alone (no model manifests are read); `file` labels the messages and
 * anchors relative paths. Throws a ConfigError listing every problem.
 */
export function parseTopology(text: string, file: string, options: LoadOptions = {}): Topology {
  return analyzeTopology(text, file, options).finish();
}

/** A topology checked as far as its text tells: what was found, and how to report more problems. */
interface Analysis {
  readonly nodes: ReadonlyMap<string, TopologyNode>;
  /** Nodes whose options failed their schema (later checks skip them). */
  readonly invalid: ReadonlySet<string>;
  readonly baseDir: string;
  /** Reports a problem (or, with `warning`, a warning) at a path of the document. */
  at(p: Path, message: string, extra?: { node?: string; suggestion?: string; key?: boolean; warning?: boolean }): void;
  /** Throws every problem reported, in file order, or returns the topology. */
  finish(): Topology;
}

/** Every check the text allows, in one pass; throws only when the text cannot be read as a map at all. */
function analyzeTopology(text: string, file: string, options: LoadOptions): Analysis {
  const components = options.components ?? allComponents;
  const env = options.env ?? process.env;
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const issues: ConfigIssue[] = [];
  const warnings: ConfigIssue[] = [];
  const at = (p: Path, message: string, extra: { node?: string; suggestion?: string; key?: boolean; warning?: boolean } = {}): void => {
    const loc = locate(doc, lines, p, extra.key === true ? 'key' : 'value');
    (extra.warning === true ? warnings : issues).push({ file, line: loc.line, column: loc.column, message, ...(extra.node === undefined ? {} : { node: extra.node }), ...(extra.suggestion === undefined ? {} : { suggestion: extra.suggestion }) });
  };

  // Duplicate keys are each their own mistake; after the first syntax error the parser's further
  // complaints are a cascade from it, so only the first is reported, explained where we can.
  let syntaxReported = false;
  for (const error of doc.errors) {
    const pos = lines.linePos(error.pos[0]);
    if (error.code === 'DUPLICATE_KEY') {
      issues.push({ file, line: pos.line, column: pos.col, message: 'duplicate name: this key appears twice in the same map', suggestion: 'rename one of them; node ids must be unique' });
    } else if (!syntaxReported) {
      syntaxReported = true;
      issues.push({ file, line: pos.line, column: pos.col, ...explainSyntaxError(text, pos.line, error.message.split('\n')[0] ?? '') });
    }
  }
  if (issues.length > 0) throw new ConfigError(issues);

  const loop = selfContainingAlias(doc);
  if (loop !== undefined) {
    const pos = lines.linePos(loop.range?.[0] ?? 0);
    throw new ConfigError([{ file, line: pos.line, column: pos.col, message: `alias \`*${loop.source}\` is inside the node its anchor names, so that value would contain itself endlessly`, suggestion: 'move the alias out of the anchored node, or write the value out' }]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (error) {
    // The YAML library throws here on an alias it cannot expand: its anchor missing (or only after
    // it), or one of too many expansions (a "billion laughs" file).
    const pos = lines.linePos(aliasOffset(doc, error));
    throw new ConfigError([{ file, line: pos.line, column: pos.col, message: `cannot expand a YAML alias: ${(error as Error).message}`, suggestion: 'define each anchor (`&name`) before its aliases (`*name`), or write the values out' }]);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ file, line: 1, column: 1, message: 'a topology must be a map with `version`, `name` and `nodes`' }]);
  }
  const secretPaths = new Set<string>();
  const unsetPaths = new Set<string>();
  const data = substituteEnv(raw, [], env, secretPaths, (p, name) => {
    unsetPaths.add(p.join('/'));
    at(p, `environment variable \`${name}\` is not set`, { suggestion: `export ${name}=… before running, or replace \`\${${name}}\` with a value` });
  }) as Record<string, unknown>;
  // A value whose variable is unset has been reported once; what the schema thinks of the empty
  // string left in its place would only repeat it.
  const schemaIssues = (errors: readonly ErrorObject[] | null | undefined, base: Path, node?: string): AjvIssue[] =>
    ajvIssues(errors ?? [], base, node, secretPaths).filter((issue) => !unsetPaths.has(issue.path.join('/')));

  if (!validateShape(data)) {
    for (const issue of schemaIssues(validateShape.errors, [])) at(issue.path, issue.message, issue);
  }
  const nodesValue = data.nodes;
  const nodesRaw = nodesValue !== null && typeof nodesValue === 'object' && !Array.isArray(nodesValue) ? (nodesValue as Record<string, unknown>) : {};
  const kinds = components.map((c) => c.kind);
  const ids = Object.keys(nodesRaw);
  const nodes = new Map<string, TopologyNode>();
  const upstreams = new Map<string, string[]>();
  const baseDir = path.dirname(path.resolve(file));
  const invalidOptions = new Set<string>();
  const unresolved = new Set<string>();

  for (const id of ids) {
    const value = nodesRaw[id];
    const nodePath: Path = ['nodes', id];
    if (!NODE_ID.test(id)) at(nodePath, `invalid node id \`${id}\``, { node: id, key: true, suggestion: 'use letters, digits, `_` and `-`, starting with a letter' });
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const record = value as Record<string, unknown>;
    if (typeof record.kind !== 'string') continue;
    const spec = components.find((c) => c.kind === record.kind);
    if (spec === undefined) {
      at([...nodePath, 'kind'], `unknown kind \`${record.kind}\``, { node: id, suggestion: suggestName(record.kind, kinds, 'kinds') });
      unresolved.add(id);
      continue;
    }
    const from = typeof record.from === 'string' ? [record.from] : Array.isArray(record.from) ? record.from.filter((f): f is string => typeof f === 'string') : [];
    const { kind: _kind, from: _from, ...options } = record;
    const validate = validatorFor(spec);
    if (!validate(options)) {
      for (const issue of schemaIssues(validate.errors, nodePath, id)) at(issue.path, issue.message, issue);
      invalidOptions.add(id);
    }
    if (spec.role === 'source' && record.from !== undefined) {
      at([...nodePath, 'from'], 'a source takes no `from`', { node: id, key: true, suggestion: 'remove `from`; to transform another node’s output use an operator kind' });
    }
    nodes.set(id, { id, kind: spec.kind, spec, from, options });
    upstreams.set(id, from);
  }

  const deadLetter = resolveDeadLetter(data, nodes, at);
  const roleOf = (id: string): string | undefined => nodes.get(id)?.spec.role;

  for (const node of nodes.values()) {
    if (node.spec.role !== 'source' && node.from.length === 0 && node.id !== deadLetter) {
      const firstSource = [...nodes.values()].find((n) => n.spec.role === 'source')?.id;
      at(['nodes', node.id], `a ${node.spec.role} needs \`from\``, { node: node.id, key: true, suggestion: `add \`from: [${firstSource ?? '<node id>'}]\`` });
    }
    if (node.id === deadLetter && node.from.length > 0) {
      at(['nodes', node.id, 'from'], 'the dead-letter sink takes no `from`; the runtime routes failed inputs to it', { node: node.id, key: true, suggestion: 'remove `from`' });
    }
    const seen = new Set<string>();
    node.from.forEach((up, index) => {
      const p: Path = typeof (nodesRaw[node.id] as Record<string, unknown>).from === 'string' ? ['nodes', node.id, 'from'] : ['nodes', node.id, 'from', index];
      if (seen.has(up)) at(p, `\`from\` names \`${up}\` twice`, { node: node.id, suggestion: 'remove the repeated entry' });
      seen.add(up);
      if (!nodes.has(up) && !ids.includes(up)) {
        at(p, `\`from\` names unknown node \`${up}\``, { node: node.id, suggestion: suggestName(up, ids, 'node ids') });
      } else if (roleOf(up) === 'sink') {
        at(p, `\`from\` names \`${up}\`, a sink, which emits nothing`, { node: node.id, suggestion: 'take input from the node that feeds that sink instead' });
      }
    });
  }

  const graph = new Map<string, string[]>([...upstreams].map(([id, ups]) => [id, ups.filter((u) => nodes.has(u) && roleOf(u) !== 'sink')]));
  const cycles = findCycles(graph);
  for (const cycle of cycles) {
    const first = cycle[0] as string;
    at(['nodes', first, 'from'], `cycle: ${cycle.map((c) => `\`${c}\``).join(' → ')}`, { node: first, key: true, suggestion: 'a topology must be acyclic; remove one of these `from` entries' });
  }
  if (cycles.length === 0) {
    const paths = pathsToSinks(graph, (id) => roleOf(id) === 'sink');
    for (const node of nodes.values()) {
      if (node.spec.role !== 'sink' && (paths.get(node.id) ?? 0) === 0) {
        at(['nodes', node.id], 'reaches no sink, so its output would be dropped', { node: node.id, key: true, suggestion: `add a sink with \`from: [${node.id}]\`, or remove the node` });
      }
    }
  }
  if (cycles.length === 0) checkShortcuts(nodes, graph, invalidOptions, at);
  for (const w of batchLimitWarnings(nodes, invalidOptions)) at([...w.path], w.message, { node: w.node, suggestion: w.suggestion, warning: true });
  if (unresolved.size === 0 && nodes.size > 0 && ![...nodes.values()].some((n) => n.spec.role === 'source')) {
    at(['nodes'], 'the topology has no source', { key: true, suggestion: `add a node of a source kind (${components.filter((c) => c.role === 'source').map((c) => `\`${c.kind}\``).join(', ')})` });
  }

  for (const node of nodes.values()) {
    if (invalidOptions.has(node.id)) continue;
    for (const problem of node.spec.validate?.(node.options, { nodeId: node.id, baseDir }) ?? []) {
      at(['nodes', node.id, ...problem.path], problem.message, { node: node.id, ...(problem.suggestion === undefined ? {} : { suggestion: problem.suggestion }) });
    }
  }

  // Shared resources: each one a node needs is provided by exactly one node of the topology. A
  // node whose options are invalid might be the provider: then missing ones are not reported.
  const providers = new Map<string, string>();
  for (const node of nodes.values()) {
    if (invalidOptions.has(node.id)) continue;
    for (const resource of node.spec.provides?.(node.options) ?? []) {
      const first = providers.get(resource);
      if (first === undefined) providers.set(resource, node.id);
      else at(['nodes', node.id], `provides \`${resource}\`, which node \`${first}\` provides already; a topology has one`, { node: node.id, key: true, suggestion: 'keep one of them (e.g. one kafka-source with `exactlyOnce: true`)' });
    }
  }
  const providerUnknown = [...nodes.values()].some((n) => invalidOptions.has(n.id) && n.spec.provides !== undefined);
  for (const node of nodes.values()) {
    if (invalidOptions.has(node.id) || providerUnknown) continue;
    for (const need of node.spec.needs?.(node.options) ?? []) {
      if (providers.has(need.resource)) continue;
      const p = need.problem;
      at(['nodes', node.id, ...p.path], p.message, { node: node.id, key: true, ...(p.suggestion === undefined ? {} : { suggestion: p.suggestion }) });
    }
  }

  // The two librdkafka clients load a library of one name (librdkafka.so.1): in one process the first loaded would serve both.
  const librdkafka = new Map<string, string>();
  for (const node of nodes.values()) {
    const client = (node.options as { client?: unknown }).client;
    if (invalidOptions.has(node.id) || (client !== 'confluent' && client !== 'node-rdkafka')) continue;
    const other = [...librdkafka].find(([c]) => c !== client);
    if (other !== undefined) {
      at(['nodes', node.id, 'client'], `\`client: ${client}\` and node \`${other[1]}\`'s \`client: ${other[0]}\` cannot run in one process: both load librdkafka.so.1, and the first one loaded would serve both`, {
        node: node.id,
        suggestion: 'give every Kafka node of the topology the same librdkafka client (or `kafkajs`)',
      });
    }
    if (!librdkafka.has(client)) librdkafka.set(client, node.id);
  }

  const claimed = new Map<string, string>();
  for (const node of nodes.values()) {
    if (invalidOptions.has(node.id)) continue;
    for (const claim of node.spec.claims?.(node.options, baseDir) ?? []) {
      const owner = claimed.get(claim);
      if (owner !== undefined) {
        at(['nodes', node.id], `uses ${claim}, already used by node \`${owner}\``, { node: node.id, key: true, suggestion: 'give each node its own output/resource' });
      } else {
        claimed.set(claim, node.id);
      }
    }
  }

  return {
    nodes,
    invalid: invalidOptions,
    baseDir,
    at,
    finish: () => {
      if (issues.length > 0) {
        issues.sort((a, b) => a.line - b.line || a.column - b.column);
        throw new ConfigError(issues);
      }
      return {
        version: 1,
        name: data.name as string,
        ...(typeof data.description === 'string' ? { description: data.description } : {}),
        file,
        baseDir,
        limits: data.limits as Limits,
        http: data.http as HttpSettings,
        tracing: data.tracing as TracingSettings,
        nodes,
        order: topologicalOrder(graph),
        deadLetter,
        warnings: [...warnings].sort((a, b) => a.line - b.line || a.column - b.column),
      };
    },
  };
}

/**
 * Checks every shortcut (a node handing inputs straight to a node further down, e.g. a `cache`
 * lookup and its store): each needs exactly one `from` and one `to` node, the `to` node must be
 * reached from the `from` node by exactly one path (else inputs would be counted twice there), and
 * no path may lead from the `from` node to a sink around the `to` node (inputs that took the
 * shortcut would never reach that sink, so their acknowledgements could not add up).
 */
function checkShortcuts(
  nodes: ReadonlyMap<string, TopologyNode>,
  graph: ReadonlyMap<string, string[]>,
  invalid: ReadonlySet<string>,
  at: (p: Path, message: string, extra?: { node?: string; suggestion?: string; key?: boolean }) => void,
): void {
  const ends = new Map<string, { from: string[]; to: string[] }>();
  for (const node of nodes.values()) {
    if (invalid.has(node.id) || node.spec.shortcut === undefined) continue;
    const { name, end } = node.spec.shortcut(node.options);
    let pair = ends.get(name);
    if (pair === undefined) ends.set(name, (pair = { from: [], to: [] }));
    pair[end].push(node.id);
  }
  const downstream = invert(graph);
  const isSink = (id: string): boolean => nodes.get(id)?.spec.role === 'sink';
  for (const [name, { from, to }] of ends) {
    const opener = from[0];
    const closer = to[0];
    if (opener === undefined || closer === undefined) {
      const lone = (opener ?? closer) as string;
      const missing = opener === undefined ? 'the node that starts it (e.g. a `cache` with `mode: lookup`)' : 'the node that ends it (e.g. a `cache` with `mode: store` after `infer`)';
      at(['nodes', lone], `${name}: ${missing} is missing`, { node: lone, key: true, suggestion: 'add it with the same namespace, or remove this node' });
      continue;
    }
    if (from.length > 1 || to.length > 1) continue; // reported by the nodes' claims
    const paths = pathCount(downstream, opener, closer);
    if (paths === 0) {
      at(['nodes', closer], `${name}: \`${closer}\` is not downstream of \`${opener}\``, { node: closer, key: true, suggestion: `place \`${closer}\` after the nodes that follow \`${opener}\`` });
      continue;
    }
    if (paths > 1) {
      at(['nodes', closer], `${name}: ${paths} paths lead from \`${opener}\` to \`${closer}\`; exactly one may`, { node: closer, key: true, suggestion: 'join the branches before this node, or give each branch its own namespace' });
      continue;
    }
    const around = pathAvoiding(downstream, opener, closer, isSink);
    if (around !== null) {
      at(['nodes', opener], `${name}: inputs that \`${opener}\` hands to \`${closer}\` would never reach sink \`${around[around.length - 1] ?? ''}\` (path ${around.map((id) => `\`${id}\``).join(' → ')} does not pass \`${closer}\`)`, {
        node: opener,
        key: true,
        suggestion: `take that sink's input from \`${closer}\` or a node after it`,
      });
    }
  }
}

/** The first alias inside the node its anchor names (the library would build a value that contains itself), if any. */
function selfContainingAlias(doc: Document): Alias | undefined {
  let found: Alias | undefined;
  visit(doc, {
    Alias(_key, node) {
      const at = node.range?.[0];
      const target = node.resolve(doc)?.range;
      if (at !== undefined && target !== undefined && target !== null && target[0] <= at && at < target[1]) {
        found = node;
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return found;
}

/** Where the alias an expansion error is about starts: the first alias naming a missing anchor, else the first alias. */
function aliasOffset(doc: Document, error: unknown): number {
  const unresolved = /alias[^:]*: (.+)$/.exec((error as Error).message)?.[1];
  let first: number | undefined;
  let named: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      first ??= node.range?.[0];
      if (node.source === unresolved) {
        named = node.range?.[0];
        return visit.BREAK;
      }
      return undefined;
    },
  });
  return named ?? first ?? 0;
}

function validatorFor(spec: ComponentSpec): ValidateFunction {
  let validate = optionValidators.get(spec.kind);
  if (validate === undefined) {
    validate = ajv.compile(spec.options);
    optionValidators.set(spec.kind, validate);
  }
  return validate;
}

function resolveDeadLetter(
  data: Record<string, unknown>,
  nodes: ReadonlyMap<string, TopologyNode>,
  at: (p: Path, message: string, extra?: { node?: string; suggestion?: string; key?: boolean }) => void,
): string | null {
  const named = data.deadLetter;
  if (typeof named === 'string') {
    const node = nodes.get(named);
    if (node === undefined) {
      at(['deadLetter'], `\`deadLetter\` names unknown node \`${named}\``, { suggestion: suggestName(named, [...nodes.keys()], 'node ids') });
      return null;
    }
    if (node.spec.role !== 'sink') {
      at(['deadLetter'], `\`deadLetter\` names \`${named}\`, a ${node.spec.role}; it must be a sink`, { suggestion: 'add a `dead-letter` node and name it here' });
      return null;
    }
    return named;
  }
  const candidates = [...nodes.values()].filter((n) => n.spec.role === 'sink' && n.spec.takesDeadLetters === true && n.from.length === 0);
  return candidates.length === 1 ? (candidates[0] as TopologyNode).id : null;
}
