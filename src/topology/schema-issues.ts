/**
 * Ajv's schema errors as sentences a data engineer can act on: the field, what it must be, what
 * it got (never a substituted secret), and a suggestion; errors of the variants of a tagged
 * union that the value's `kind` does not name are left out.
 */
import type { ErrorObject } from 'ajv';
import { closest, suggestName } from './suggest.js';

/** A path into the topology document. */
export type Path = (string | number)[];

/** One located, worded problem found by Ajv. */
export interface AjvIssue {
  path: Path;
  message: string;
  node?: string;
  suggestion?: string;
  key?: boolean;
}

/**
 * An `anyOf` of objects told apart by a `kind` constant (e.g. `infer`'s `backend`), keyed by its
 * schema path: the kinds, and the index of the variant the value's `kind` names (-1 for none).
 */
interface TaggedUnion {
  readonly kinds: readonly string[];
  readonly chosen: number;
}

/** The tagged unions among the failed `anyOf`s whose value is an object. */
function taggedUnions(errors: readonly ErrorObject[]): Map<string, TaggedUnion> {
  const found = new Map<string, TaggedUnion>();
  for (const error of errors) {
    if (error.keyword !== 'anyOf' || typeof error.data !== 'object' || error.data === null || Array.isArray(error.data)) continue;
    const variants = (error.schema as { properties?: { kind?: { const?: unknown } } }[] | undefined) ?? [];
    const kinds = variants.map((v) => v.properties?.kind?.const);
    if (kinds.length === 0 || !kinds.every((k): k is string => typeof k === 'string')) continue;
    found.set(error.schemaPath, { kinds, chosen: kinds.indexOf((error.data as { kind?: unknown }).kind as string) });
  }
  return found;
}

/** Turns Ajv's errors, for the value at `base` (of `node`), into located, worded problems. */
export function ajvIssues(errors: readonly ErrorObject[], base: Path, node: string | undefined, secrets: ReadonlySet<string>): AjvIssue[] {
  const tagged = taggedUnions(errors);
  // Errors inside an untagged anyOf are summed up by the anyOf's own message; inside a tagged one,
  // only the variant the value's `kind` names speaks.
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf' && !tagged.has(e.schemaPath)).map((e) => e.schemaPath);
  const skipped = (error: ErrorObject): boolean => {
    for (const [unionPath, union] of tagged) {
      if (error.schemaPath === unionPath) return union.chosen >= 0;
      if (error.schemaPath.startsWith(`${unionPath}/`) && !error.schemaPath.startsWith(`${unionPath}/${union.chosen}/`)) return true;
    }
    return error.keyword !== 'anyOf' && anyOfPaths.some((p) => error.schemaPath.startsWith(`${p}/`));
  };
  const out: AjvIssue[] = [];
  const nodePart = node === undefined ? {} : { node };
  for (const error of errors) {
    if (skipped(error)) continue;
    const rel = error.instancePath === '' ? [] : error.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
    const p: Path = [...base, ...rel.map((s) => (/^\d+$/.test(s) ? Number(s) : s))];
    const field = rel.length === 0 ? (node === undefined ? 'the topology' : 'the node') : `field \`${rel.join('.')}\``;
    const secret = secrets.has(p.join('/'));
    const union = tagged.get(error.schemaPath);
    if (union !== undefined) {
      const kind = (error.data as { kind?: unknown }).kind;
      const kinds = union.kinds.map((k) => `\`${k}\``).join(', ');
      const name = [...rel, 'kind'].join('.');
      if (kind === undefined) {
        out.push({ path: p, key: rel.length > 0, message: `missing required field \`${name}\``, suggestion: `add \`kind\`: one of ${kinds}`, ...nodePart });
      } else {
        const hint = typeof kind === 'string' ? closest(kind, union.kinds) : undefined;
        out.push({ path: [...p, 'kind'], message: `field \`${name}\` must be one of ${kinds}, got ${describeValue(kind, secret)}`, ...(hint === undefined ? {} : { suggestion: `did you mean \`${hint}\`?` }), ...nodePart });
      }
      continue;
    }
    switch (error.keyword) {
      case 'additionalProperties': {
        const name = String((error.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(((error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties) ?? {});
        const where = rel.length === 0 ? '' : ` in \`${rel.join('.')}\``;
        out.push({ path: [...p, name], key: true, message: `unknown field \`${name}\`${where}`, suggestion: suggestName(name, known, 'fields'), ...nodePart });
        break;
      }
      case 'required': {
        const name = String((error.params as { missingProperty: string }).missingProperty);
        out.push({ path: p, key: rel.length > 0, message: `missing required field \`${[...rel, name].join('.')}\``, suggestion: `add \`${name}\``, ...nodePart });
        break;
      }
      case 'type': {
        const expected = String((error.params as { type: string }).type);
        const got = describeValue(error.data, secret);
        out.push({ path: p, message: `${field} must be ${article(expected)}, got ${got}`, ...(expected === 'integer' || expected === 'number' ? { suggestion: 'write the number without quotes' } : {}), ...nodePart });
        break;
      }
      case 'anyOf': {
        const variants = (error.schema as { const?: unknown; type?: string }[] | undefined) ?? [];
        const consts = variants.filter((v) => v.const !== undefined).map((v) => String(v.const));
        if (consts.length === variants.length && consts.length > 0) {
          const hint = typeof error.data === 'string' ? closest(error.data, consts) : undefined;
          out.push({ path: p, message: `${field} must be one of ${consts.map((c) => `\`${c}\``).join(', ')}, got ${describeValue(error.data, secret)}`, ...(hint === undefined ? {} : { suggestion: `did you mean \`${hint}\`?` }), ...nodePart });
        } else {
          const types = [...new Set(variants.map((v) => v.type ?? 'a value'))].join(' or ');
          out.push({ path: p, message: `${field} must be ${types}, got ${describeValue(error.data, secret)}`, ...nodePart });
        }
        break;
      }
      case 'const':
        out.push({ path: p, message: `${field} must be ${JSON.stringify((error.params as { allowedValue: unknown }).allowedValue)}, got ${describeValue(error.data, secret)}`, ...nodePart });
        break;
      case 'enum': {
        const allowed = ((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
        const hint = typeof error.data === 'string' ? closest(error.data, allowed) : undefined;
        out.push({ path: p, message: `${field} must be one of ${allowed.map((c) => `\`${c}\``).join(', ')}`, ...(hint === undefined ? {} : { suggestion: `did you mean \`${hint}\`?` }), ...nodePart });
        break;
      }
      default:
        out.push({ path: p, message: `${field} ${error.message ?? 'is invalid'}${secret ? '' : `, got ${describeValue(error.data, secret)}`}`, ...nodePart });
    }
  }
  return out;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

function describeValue(value: unknown, secret: boolean): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  if (secret) return `${type} (from the environment)`;
  if (typeof value === 'string') return `string "${value.length > 40 ? `${value.slice(0, 40)}…` : value}"`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${type} ${String(value)}`;
  return type;
}

