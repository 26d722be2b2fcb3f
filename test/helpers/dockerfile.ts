/**
 * The repository's Dockerfile and .dockerignore read as data, for tests that check them without a
 * Docker engine: instructions grouped by stage (line continuations joined, comments dropped), the
 * packages each stage installs with apt-get, and Docker's .dockerignore matching (last matching
 * pattern wins; a pattern that matches a parent folder matches everything under it).
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, COPY, … */
  readonly keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  readonly args: string;
}

export interface Stage {
  /** The image of its FROM line, e.g. `node:24.22.3-bookworm-slim`. */
  readonly image: string;
  /** The name after `AS`, if any. */
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

/** Splits a Dockerfile into its stages (instructions before the first FROM, such as ARG, are dropped). */
export function parseDockerfile(text: string): Stage[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (current !== '' && line.startsWith('#')) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(`${current}${line}`.trim());
    current = '';
  }
  if (current.trim() !== '') logical.push(current.trim());
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const line of logical) {
    const match = /^(\S+)\s*(.*)$/s.exec(line);
    if (match === null) continue;
    const keyword = (match[1] ?? '').toUpperCase();
    const args = match[2] ?? '';
    if (keyword === 'FROM') {
      const from = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      stages.push({ image: from?.[1] ?? args, name: from?.[2], instructions: [] });
      continue;
    }
    stages.at(-1)?.instructions.push({ keyword, args });
  }
  return stages;
}

/** The Dockerfile at the repository root. */
export function readDockerfile(file = 'Dockerfile'): Stage[] {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

/** Instructions of a stage with this keyword. */
export function instructions(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The arguments of an exec-form (JSON array) instruction such as ENTRYPOINT or CMD, else undefined. */
export function execForm(args: string): string[] | undefined {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((a) => typeof a === 'string') ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Packages named by `apt-get install` in the stage's RUN instructions (options left out). */
export function aptPackages(stage: Stage): string[] {
  const packages: string[] = [];
  for (const run of instructions(stage, 'RUN')) {
    for (const command of run.args.split(/&&|;|\|\|/)) {
      const words = command.trim().split(/\s+/);
      const at = words.findIndex((w, i) => w === 'install' && words[i - 1] === 'apt-get');
      if (at < 0) continue;
      packages.push(...words.slice(at + 1).filter((w) => !w.startsWith('-')));
    }
  }
  return packages;
}

/** ENV settings of a stage (`ENV A=1 B=2` and the old `ENV A 1` form). */
export function envOf(stage: Stage): Map<string, string> {
  const env = new Map<string, string>();
  for (const { args } of instructions(stage, 'ENV')) {
    if (!args.includes('=')) {
      const [name, ...value] = args.split(/\s+/);
      if (name !== undefined) env.set(name, value.join(' '));
      continue;
    }
    for (const match of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      const value = match[2] ?? '';
      env.set(match[1] ?? '', value.startsWith('"') ? (JSON.parse(value) as string) : value);
    }
  }
  return env;
}

export interface Copy {
  /** The stage copied from (`--from=`), or undefined for the build context. */
  readonly from: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
}

/** COPY instructions of a stage, flags parsed off (shell form only: no file names with spaces). */
export function copies(stage: Stage): Copy[] {
  return instructions(stage, 'COPY').map(({ args }) => {
    const words = args.split(/\s+/);
    let from: string | undefined;
    const paths: string[] = [];
    for (const word of words) {
      if (word.startsWith('--from=')) from = word.slice('--from='.length);
      else if (!word.startsWith('--')) paths.push(word);
    }
    return { from, sources: paths.slice(0, -1), destination: paths.at(-1) ?? '' };
  });
}

/** A .dockerignore pattern as a regular expression over slash-separated relative paths. */
function patternRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; ) {
    if (pattern.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 3;
    } else if (pattern.startsWith('**', i)) {
      source += '.*';
      i += 2;
    } else if (pattern[i] === '*') {
      source += '[^/]*';
      i += 1;
    } else if (pattern[i] === '?') {
      source += '[^/]';
      i += 1;
    } else {
      source += (pattern[i] ?? '').replace(/[.+^${}()|[\]\\]/g, '\\$&');
      i += 1;
    }
  }
  return new RegExp(`^${source}$`);
}

/** Docker's .dockerignore rules: `isIgnored('node_modules/x')` tells whether the build context leaves it out. */
export function dockerignore(text: string): { patterns: readonly string[]; isIgnored(path: string): boolean } {
  const rules = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negated = line.startsWith('!');
      const pattern = (negated ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negated, pattern, regex: patternRegex(pattern) };
    });
  return {
    patterns: rules.map((r) => `${r.negated ? '!' : ''}${r.pattern}`),
    isIgnored(path: string): boolean {
      const parts = path.replace(/^\.?\/+/, '').split('/');
      const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
      let ignored = false;
      for (const rule of rules) {
        if (prefixes.some((p) => rule.regex.test(p))) ignored = !rule.negated;
      }
      return ignored;
    },
  };
}
