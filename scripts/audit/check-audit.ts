/**
 * The `npm audit` gate of docs/SECURITY.md: runs `npm audit --json --omit=dev` (the packages an
 * `npm ci --omit=dev` install ships; `--include-dev` adds the tool chain) and fails when an
 * advisory at or above `--level` (default `high`) is reported whose id — its GHSA id, or
 * `npm:<source>` for npm's advisory number — is not a row of the "Accepted findings" table in
 * docs/SECURITY.md, where each accepted finding says why it does not reach Centaur. The parsing is
 * pure and exported (test/deploy/check-audit.test.ts); only `main` runs npm and reads files.
 *
 * Usage: tsx scripts/audit/check-audit.ts [--input FILE|-] [--doc FILE] [--level high] [--include-dev]
 *   --input   a saved `npm audit --json` report (`-` for stdin) instead of running npm audit
 * Exit: 0 nothing unlisted; 1 unlisted advisories (printed, one line each); 2 no report (the
 * registry's advisory endpoint failed, the output is not a report) or no table in the doc.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** npm's severities, lowest first. */
export const SEVERITIES = ['info', 'low', 'moderate', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** One advisory as `npm audit` reports it, merged over every package entry that names it. */
export interface Finding {
  /** The GHSA id when the advisory has one, else `npm:<source>`. */
  readonly id: string;
  readonly ghsa?: string;
  /** npm's advisory number (`source` in the report). */
  readonly source?: number;
  /** The vulnerable package. */
  readonly name: string;
  readonly severity: Severity;
  readonly title: string;
  readonly url?: string;
  /** The vulnerable versions. */
  readonly range?: string;
  /** Where the package is installed (`node_modules/…`). */
  readonly paths: readonly string[];
  /** What npm says would fix it, in words. */
  readonly fix: string;
}

/** A report read, or why there is none. */
export type AuditResult = { readonly ok: true; readonly findings: readonly Finding[] } | { readonly ok: false; readonly reason: string };

/** The advisory ids the doc accepts, or why they cannot be read. */
export type ListedResult = { readonly ok: true; readonly ids: ReadonlySet<string> } | { readonly ok: false; readonly reason: string };

/** What a check found: unlisted findings fail it; stale rows only deserve a note. */
export interface CheckOutcome {
  readonly unlisted: readonly Finding[];
  readonly accepted: readonly Finding[];
  /** Ids in the table that the report no longer names at any severity. */
  readonly stale: readonly string[];
}

const GHSA = /GHSA(?:-[0-9a-z]{4}){3}/gi;
const NPM_ID = /\bnpm:(\d+)\b/gi;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSeverity(value: unknown): value is Severity {
  return typeof value === 'string' && (SEVERITIES as readonly string[]).includes(value);
}

/** The fix npm offers for a package entry, in words. */
function fixText(fixAvailable: unknown): string {
  if (fixAvailable === true) return '`npm audit fix` (an update within the declared ranges)';
  if (isRecord(fixAvailable) && typeof fixAvailable.name === 'string' && typeof fixAvailable.version === 'string') {
    return `${fixAvailable.name}@${fixAvailable.version}${fixAvailable.isSemVerMajor === true ? ' (semver-major: `npm audit fix --force`)' : ''}`;
  }
  return 'no fix available from npm';
}

/**
 * Reads the JSON `npm audit --json` prints (npm 7 and later, `auditReportVersion` 2) into one
 * finding per advisory. A package entry whose `via` names only other packages is a dependent of a
 * vulnerable package, not an advisory of its own, so it adds nothing. What npm prints when the
 * advisory endpoint fails (`{ "message": …, "error": … }`) or anything else is `ok: false`.
 */
export function parseAuditJson(text: string): AuditResult {
  if (text.trim() === '') return { ok: false, reason: 'npm audit printed nothing' };
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `npm audit's output is not JSON (${(error as Error).message})` };
  }
  if (!isRecord(data)) return { ok: false, reason: 'npm audit printed JSON that is not a report' };
  if (!isRecord(data.vulnerabilities)) {
    const error = isRecord(data.error) ? data.error : {};
    const said = [data.message, error.summary, error.detail].find((s): s is string => typeof s === 'string' && s.trim() !== '');
    if (said !== undefined || 'error' in data) return { ok: false, reason: `npm audit failed: ${said ?? 'no message'}` };
    return { ok: false, reason: 'npm audit printed JSON without `vulnerabilities` (not an npm 7+ audit report)' };
  }
  const byId = new Map<string, Finding>();
  for (const entry of Object.values(data.vulnerabilities)) {
    if (!isRecord(entry) || !Array.isArray(entry.via)) continue;
    const nodes = Array.isArray(entry.nodes) ? entry.nodes.filter((n): n is string => typeof n === 'string') : [];
    for (const via of entry.via) {
      if (!isRecord(via)) continue;
      const url = typeof via.url === 'string' ? via.url : undefined;
      const ghsa = url?.match(GHSA)?.[0];
      const source = typeof via.source === 'number' ? via.source : undefined;
      const id = ghsa ?? (source === undefined ? undefined : `npm:${source}`);
      if (id === undefined) continue;
      const name = typeof via.name === 'string' ? via.name : typeof entry.name === 'string' ? entry.name : '?';
      const severity = isSeverity(via.severity) ? via.severity : isSeverity(entry.severity) ? entry.severity : 'critical';
      const before = byId.get(id);
      const paths = [...new Set([...(before?.paths ?? []), ...nodes])].sort();
      byId.set(id, {
        id,
        ...(ghsa === undefined ? {} : { ghsa }),
        ...(source === undefined ? {} : { source }),
        name,
        severity: before !== undefined && rank(before.severity) > rank(severity) ? before.severity : severity,
        title: typeof via.title === 'string' ? via.title : '(no title)',
        ...(url === undefined ? {} : { url }),
        ...(typeof via.range === 'string' ? { range: via.range } : {}),
        paths,
        fix: before?.fix ?? fixText(entry.fixAvailable),
      });
    }
  }
  const findings = [...byId.values()].sort((a, b) => rank(b.severity) - rank(a.severity) || a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  return { ok: true, findings };
}

/** A severity's place, 0 for `info`. */
export function rank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

/** The cells of one Markdown table row (`| a | b |` → `['a', 'b']`). */
function cells(row: string): string[] {
  const inner = row.trim().replace(/^\|/, '').replace(/\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim());
}

/**
 * The advisory ids in the "Accepted findings" table of docs/SECURITY.md: the section under a
 * heading that starts with "Accepted findings", its first table, the column whose header contains
 * "advisory"; in it GHSA ids and `npm:<number>` ids. Other tables of the doc (advisories checked
 * and found fixed, for instance) accept nothing. No such section or column is `ok: false`; a table
 * with no rows accepts nothing.
 */
export function listedAdvisoryIds(markdown: string): ListedResult {
  const lines = markdown.split(/\r?\n/);
  const start = lines.findIndex((l) => /^#{1,6}\s+Accepted findings\b/i.test(l));
  if (start < 0) return { ok: false, reason: 'no "Accepted findings" heading' };
  const level = /^#+/.exec(lines[start] ?? '')?.[0].length ?? 1;
  const section: string[] = [];
  for (const line of lines.slice(start + 1)) {
    const heading = /^(#{1,6})\s/.exec(line);
    if (heading !== null && (heading[1] ?? '').length <= level) break;
    section.push(line);
  }
  const tableStart = section.findIndex((l) => l.trim().startsWith('|'));
  if (tableStart < 0) return { ok: false, reason: 'the "Accepted findings" section has no table' };
  const table: string[] = [];
  for (const line of section.slice(tableStart)) {
    if (!line.trim().startsWith('|')) break;
    table.push(line);
  }
  const column = cells(table[0] ?? '').findIndex((c) => /advisory/i.test(c));
  if (column < 0) return { ok: false, reason: 'the "Accepted findings" table has no "advisory" column' };
  const ids = new Set<string>();
  for (const row of table.slice(1)) {
    if (/^\|?\s*:?-{3,}/.test(row.trim())) continue;
    const cell = cells(row)[column] ?? '';
    for (const m of cell.matchAll(GHSA)) ids.add(m[0].toLowerCase());
    for (const m of cell.matchAll(NPM_ID)) ids.add(`npm:${m[1]}`);
  }
  return { ok: true, ids };
}

/** Sorts the findings at or above `level` into accepted and unlisted, and names stale rows. */
export function checkFindings(findings: readonly Finding[], listed: ReadonlySet<string>, level: Severity = 'high'): CheckOutcome {
  const isListed = (f: Finding): boolean => (f.ghsa !== undefined && listed.has(f.ghsa.toLowerCase())) || (f.source !== undefined && listed.has(`npm:${f.source}`));
  const serious = findings.filter((f) => rank(f.severity) >= rank(level));
  const reported = new Set(findings.flatMap((f) => [...(f.ghsa === undefined ? [] : [f.ghsa.toLowerCase()]), ...(f.source === undefined ? [] : [`npm:${f.source}`])]));
  return {
    unlisted: serious.filter((f) => !isListed(f)),
    accepted: serious.filter(isListed),
    stale: [...listed].filter((id) => !reported.has(id)).sort(),
  };
}

/** One line for an unlisted finding: what, where, why it fails, what would fix it. */
export function describeUnlisted(f: Finding): string {
  const where = f.paths.length === 0 ? '' : ` at ${f.paths.join(', ')}`;
  return `${f.id} ${f.severity}: ${f.name}${f.range === undefined ? '' : ` ${f.range}`}${where} — ${f.title}; not in docs/SECURITY.md's accepted findings; fix: ${f.fix}`;
}

/** Counts of findings per severity, highest first, e.g. `critical 0, high 2, moderate 1, low 0`. */
export function severityCounts(findings: readonly Finding[]): string {
  return [...SEVERITIES].reverse().filter((s) => s !== 'info').map((s) => `${s} ${findings.filter((f) => f.severity === s).length}`).join(', ');
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      input: { type: 'string' },
      doc: { type: 'string', default: path.join(ROOT, 'docs', 'SECURITY.md') },
      level: { type: 'string', default: 'high' },
      'include-dev': { type: 'boolean', default: false },
    },
  });
  const level = values.level;
  if (!isSeverity(level)) {
    process.stderr.write(`check-audit: --level must be one of ${SEVERITIES.join(', ')}\n`);
    return 2;
  }
  const scope = values['include-dev'] ? 'all dependencies' : 'production dependencies';
  let text: string;
  if (values.input !== undefined) {
    text = await readInput(values.input);
  } else {
    const args = ['audit', '--json', ...(values['include-dev'] ? [] : ['--omit=dev'])];
    // npm audit exits 1 when it finds anything; the report on stdout is what counts.
    const run = spawnSync('npm', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    if (run.error !== undefined) {
      process.stderr.write(`check-audit: cannot run npm: ${run.error.message}\n`);
      return 2;
    }
    text = run.stdout;
  }
  const audit = parseAuditJson(text);
  if (!audit.ok) {
    process.stderr.write(`check-audit: no audit report: ${audit.reason}\n`);
    if (/\b40[45]\b/.test(audit.reason)) {
      process.stderr.write("check-audit: the registry answering here does not serve npm's advisory endpoint; run this where it does, or pass a saved `npm audit --json --omit=dev` with --input\n");
    }
    return 2;
  }
  const listed = listedAdvisoryIds(await readFile(values.doc, 'utf8'));
  if (!listed.ok) {
    process.stderr.write(`check-audit: ${path.relative(process.cwd(), values.doc)}: ${listed.reason}\n`);
    return 2;
  }
  const outcome = checkFindings(audit.findings, listed.ids, level);
  const what = values.input === undefined ? `npm audit, ${scope}` : `npm audit report ${values.input === '-' ? 'on stdin' : values.input}`;
  const n = audit.findings.length;
  process.stdout.write(`${what}: ${n} advisor${n === 1 ? 'y' : 'ies'} (${severityCounts(audit.findings)})\n`);
  for (const f of outcome.accepted) process.stdout.write(`  accepted in docs/SECURITY.md: ${f.id} ${f.severity} ${f.name}\n`);
  for (const id of outcome.stale) process.stdout.write(`  note: ${id} is in the accepted findings but no longer reported; remove its row\n`);
  if (outcome.unlisted.length === 0) {
    process.stdout.write(`check-audit: nothing at ${level} or above outside docs/SECURITY.md's accepted findings\n`);
    return 0;
  }
  process.stdout.write(`check-audit: ${outcome.unlisted.length} advisor${outcome.unlisted.length === 1 ? 'y' : 'ies'} at ${level} or above not in docs/SECURITY.md:\n`);
  for (const f of outcome.unlisted) process.stdout.write(`  ${describeUnlisted(f)}\n`);
  return 1;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main();
}
