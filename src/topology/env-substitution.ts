/**
 * The text-level helpers of loading: `${NAME}` substitution from the environment (values marked
 * secret, so no message repeats them), and the explanation of a YAML syntax error.
 */
import { parse as parseYamlScalar } from 'yaml';
import type { Path } from './schema-issues.js';

/** An unquoted `${NAME}` right after `key:`, `[` or `,`: in a flow collection its `{` opens a nested mapping. */
const UNQUOTED_ENV_IN_FLOW = /(?:^|[:[,])\s*(\$\{[A-Za-z_][A-Za-z0-9_]*\}[^,}\]]*)/;

/** The message and fix for a YAML syntax error, recognising the `${…}`-in-braces mistake. */
export function explainSyntaxError(text: string, line: number, parserMessage: string): { message: string; suggestion?: string } {
  const source = text.split(/\r?\n/)[line - 1] ?? '';
  const flow = source.indexOf('{') >= 0 || source.indexOf('[') >= 0;
  const match = flow ? UNQUOTED_ENV_IN_FLOW.exec(source.slice(source.search(/[{[]/) + 1)) : null;
  if (match?.[1] !== undefined) {
    const value = match[1].trim();
    return {
      message: `syntax error: \`${value}\` inside \`{ … }\` or \`[ … ]\` is read as a nested mapping, because \`\${\` opens one there (${parserMessage})`,
      suggestion: `quote the value: "${value}"`,
    };
  }
  return { message: `syntax error: ${parserMessage}` };
}

const ENV_REF = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces `${NAME}` references below `value`; records substituted paths in `secrets` and reports unset names. */
export function substituteEnv(
  value: unknown,
  p: Path,
  env: Readonly<Record<string, string | undefined>>,
  secrets: Set<string>,
  missing: (p: Path, name: string) => void,
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return value;
    let used = false;
    const replaced = value.replace(ENV_REF, (match, name: string | undefined) => {
      if (name === undefined) return '${';
      used = true;
      // Text only: `${constructor}` or `${__proto__}` must not resolve to what every object inherits.
      const value: unknown = env[name];
      const found = typeof value === 'string' ? value : undefined;
      if (found === undefined) {
        missing(p, name);
        return '';
      }
      return found;
    });
    if (!used) return replaced;
    secrets.add(p.join('/'));
    if (/^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/.test(value)) {
      try {
        const typed: unknown = parseYamlScalar(replaced);
        if (typeof typed === 'number' || typeof typed === 'boolean') return typed;
      } catch {
        // Not a plain scalar: keep the string.
      }
    }
    return replaced;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...p, i], env, secrets, missing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, [...p, k], env, secrets, missing)]));
  }
  return value;
}

