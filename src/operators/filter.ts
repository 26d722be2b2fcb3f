/**
 * `filter`: keeps or drops envelopes by one condition on one field, as Vector's `filter` transform
 * does, without expressions: `field` names a value of the envelope (a fixed list, plus
 * `metadata.<name>`), and exactly one condition tests it: `equals`, `in`, `matches` (a regular
 * expression, compiled once) or a numeric range (`gte`/`gt` and/or `lte`/`lt`). `negate` inverts
 * the condition; `missing` decides envelopes without the field (no prediction yet, no such
 * metadata key), whatever `negate` says.
 *
 * A dropped envelope is not a failure: the operator hands it to `ctx.drop`, and the runtime counts
 * it done on every path through this node (as a sink acknowledgement would), so its source position
 * is committed like any other's and the run summary counts it completed, not dead-lettered.
 *
 * Batches pass as batches: when every envelope of a packed batch is kept, the batch goes on as it
 * is; when some are dropped, its tensor is released and the kept envelopes go on as a tensorless
 * batch (`infer` packs those itself). Place the node before `micro-batch` (source fields, metadata,
 * image features) or after `infer` (the prediction) so batches keep their packed tensors.
 */
import { performance } from 'node:perf_hooks';
import { Type } from '@sinclair/typebox';
import type { Static } from '@sinclair/typebox';
import { EMPTY, mergeMap, of } from 'rxjs';
import type { Observable } from 'rxjs';
import { defineOperator } from '../core/component.js';
import type { Operator, OperatorContext, OptionProblem } from '../core/component.js';
import { isBatch } from '../core/envelope.js';
import type { Envelope, Item } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import { closest, suggestName } from '../topology/suggest.js';

type FieldType = 'string' | 'number' | 'boolean';
type Scalar = string | number | boolean;

/** Every field a filter can read besides `metadata.<name>`, with its type. */
const FIELDS: Readonly<Record<string, { readonly type: FieldType; readonly read: (e: Envelope) => unknown }>> = {
  id: { type: 'string', read: (e) => e.id },
  key: { type: 'string', read: (e) => e.key },
  label: { type: 'string', read: (e) => e.label },
  eventTime: { type: 'number', read: (e) => e.eventTime },
  sizeBytes: { type: 'number', read: (e) => e.sizeBytes },
  'payload.kind': { type: 'string', read: (e) => e.payload.kind },
  'position.source': { type: 'string', read: (e) => e.position.source },
  'position.partition': { type: 'string', read: (e) => e.position.partition },
  'position.offset': { type: 'number', read: (e) => e.position.offset },
  'position.uri': { type: 'string', read: (e) => e.position.uri },
  'position.topic': { type: 'string', read: (e) => e.position.topic },
  'image.width': { type: 'number', read: (e) => e.image?.width },
  'image.height': { type: 'number', read: (e) => e.image?.height },
  'image.format': { type: 'string', read: (e) => e.image?.format },
  'image.brightness': { type: 'number', read: (e) => e.image?.brightness },
  'image.contrast': { type: 'number', read: (e) => e.image?.contrast },
  'image.sharpness': { type: 'number', read: (e) => e.image?.sharpness },
  'image.saturation': { type: 'number', read: (e) => e.image?.saturation },
  'prediction.label': { type: 'string', read: (e) => e.prediction?.label },
  'prediction.classIndex': { type: 'number', read: (e) => e.prediction?.classIndex },
  'prediction.confidence': { type: 'number', read: (e) => e.prediction?.confidence },
  // `cached` is set only on cache hits: any other prediction reads as false, no prediction as missing.
  'prediction.cached': { type: 'boolean', read: (e) => (e.prediction === undefined ? undefined : e.prediction.cached === true) },
  'model.name': { type: 'string', read: (e) => e.model?.name },
  'model.version': { type: 'string', read: (e) => e.model?.version },
};

const METADATA = 'metadata.';
const FIELD_NAMES = [...Object.keys(FIELDS), 'metadata.<name>'];
const ROOTS = [...new Set(FIELD_NAMES.map((f) => f.split('.')[0] as string))];
/** Longest `matches` pattern: a pattern is for a key or a label, not a program. */
export const MAX_PATTERN_LENGTH = 256;

const ScalarValue = (description: string) => Type.Union([Type.String(), Type.Number(), Type.Boolean()], { description });

/** Options of `filter`; defaults live in the schema (the runtime fills them in). */
export const FilterOptions = Type.Object(
  {
    field: Type.String({
      minLength: 1,
      maxLength: 256,
      description: `The value tested: one of ${FIELD_NAMES.map((f) => `\`${f}\``).join(', ')}. Metadata values are strings.`,
    }),
    equals: Type.Optional(ScalarValue('Condition: the field equals this value (same type: quote a number to compare it with a string field such as metadata).')),
    in: Type.Optional(Type.Array(Type.Union([Type.String(), Type.Number(), Type.Boolean()]), { minItems: 1, maxItems: 1000, description: 'Condition: the field equals one of these values.' })),
    matches: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: MAX_PATTERN_LENGTH,
        description: `Condition: a string field matches this JavaScript regular expression (unanchored: use \`^…$\` for the whole value; at most ${MAX_PATTERN_LENGTH} characters, compiled once).`,
      }),
    ),
    gte: Type.Optional(Type.Number({ description: 'Condition (a range, with `lte` or `lt`): a numeric field is at least this.' })),
    gt: Type.Optional(Type.Number({ description: 'Condition (a range, with `lte` or `lt`): a numeric field is above this.' })),
    lte: Type.Optional(Type.Number({ description: 'Condition (a range, with `gte` or `gt`): a numeric field is at most this.' })),
    lt: Type.Optional(Type.Number({ description: 'Condition (a range, with `gte` or `gt`): a numeric field is below this.' })),
    negate: Type.Boolean({ default: false, description: 'Keep the envelopes the condition rejects, and drop those it accepts (envelopes without the field are decided by `missing`).' }),
    missing: Type.Union([Type.Literal('drop'), Type.Literal('keep')], {
      default: 'drop',
      description: 'What happens to an envelope without the field (no prediction or image yet, no such metadata key, no label).',
    }),
  },
  { additionalProperties: false },
);
export type FilterOptions = Static<typeof FilterOptions>;

type Condition = 'equals' | 'in' | 'matches' | 'range';
const BOUNDS = ['gte', 'gt', 'lte', 'lt'] as const;

/** The field's type, or a problem (with a did-you-mean) for a field the filter cannot read. */
function fieldType(field: string): FieldType | OptionProblem {
  const known = FIELDS[field];
  if (known !== undefined) return known.type;
  const dot = field.indexOf('.');
  const root = dot < 0 ? field : field.slice(0, dot);
  const rest = dot < 0 ? '' : field.slice(dot + 1);
  if (root === 'metadata') {
    if (rest !== '') return 'string';
    return { path: ['field'], message: '`metadata` needs the name of a key', suggestion: 'write `metadata.<name>`, e.g. `metadata.camera`' };
  }
  const message = `unknown field \`${field}\``;
  if (ROOTS.includes(root)) {
    const under = FIELD_NAMES.filter((f) => f.startsWith(`${root}.`));
    return { path: ['field'], message, suggestion: under.length > 0 ? suggestName(field, under, `fields of \`${root}\``) : `\`${root}\` has no fields; use \`${root}\`` };
  }
  // `meta.camera`, `pred.label`: a shortened root; else a misspelt one.
  const nearRoot = ROOTS.find((r) => root.length >= 3 && r.startsWith(root.toLowerCase())) ?? closest(root, ROOTS);
  if (nearRoot === 'metadata' && rest !== '') return { path: ['field'], message, suggestion: `did you mean \`metadata.${rest}\`?` };
  if (nearRoot !== undefined && rest !== '') {
    const candidate = `${nearRoot}.${rest}`;
    const match = closest(candidate, FIELD_NAMES.filter((f) => f.startsWith(`${nearRoot}.`)));
    if (match !== undefined) return { path: ['field'], message, suggestion: `did you mean \`${match}\`?` };
  }
  return { path: ['field'], message, suggestion: suggestName(field, FIELD_NAMES, 'fields') };
}

/** Which conditions the options give, in the order written. */
function conditionsOf(o: FilterOptions): { condition: Condition; key: string }[] {
  const out: { condition: Condition; key: string }[] = [];
  let range = false;
  for (const key of Object.keys(o)) {
    if (key === 'equals' && o.equals !== undefined) out.push({ condition: 'equals', key });
    if (key === 'in' && o.in !== undefined) out.push({ condition: 'in', key });
    if (key === 'matches' && o.matches !== undefined) out.push({ condition: 'matches', key });
    if ((BOUNDS as readonly string[]).includes(key) && o[key as (typeof BOUNDS)[number]] !== undefined && !range) {
      range = true;
      out.push({ condition: 'range', key });
    }
  }
  return out;
}

function typeOfValue(value: Scalar): FieldType {
  return typeof value === 'string' ? 'string' : typeof value === 'number' ? 'number' : 'boolean';
}

/** A value of the wrong type for the field: with the fix (quote it, or unquote it). */
function valueProblem(path: (string | number)[], field: string, type: FieldType, value: Scalar): OptionProblem | null {
  const given = typeOfValue(value);
  if (given === type) return null;
  const shown = JSON.stringify(value);
  let suggestion: string;
  if (type === 'string') suggestion = `quote it: "${String(value)}"`;
  else if (type === 'number' && given === 'string' && value !== '' && Number.isFinite(Number(value))) suggestion = `write the number without quotes: ${Number(value)}`;
  else if (type === 'boolean' && (value === 'true' || value === 'false')) suggestion = `write ${value} without quotes`;
  else suggestion = `compare \`${field}\` with a ${type}`;
  return { path, message: `\`${field}\` is a ${type}, but ${shown} is a ${given}: it would never be equal`, suggestion };
}

/** Cross-field rules: a readable field, exactly one condition, of a type the field has, a regex that compiles. */
export function validateFilter(o: FilterOptions): OptionProblem[] {
  const problems: OptionProblem[] = [];
  const typed = fieldType(o.field);
  const type = typeof typed === 'string' ? typed : undefined;
  if (typeof typed !== 'string') problems.push(typed);

  const conditions = conditionsOf(o);
  if (conditions.length === 0) {
    problems.push({ path: [], message: 'a filter needs a condition', suggestion: 'add one of `equals`, `in`, `matches`, or a range (`gte`/`gt` and/or `lte`/`lt`)' });
  }
  for (const extra of conditions.slice(1)) {
    problems.push({
      path: [extra.key],
      message: `a filter tests exactly one condition, but \`${conditions[0]?.key ?? ''}\` and \`${extra.key}\` are both given`,
      suggestion: 'keep one, and chain a second `filter` node for the other',
    });
  }
  if (o.gte !== undefined && o.gt !== undefined) problems.push({ path: ['gt'], message: 'a range has one lower bound, but `gte` and `gt` are both given', suggestion: 'keep `gte` or `gt`' });
  if (o.lte !== undefined && o.lt !== undefined) problems.push({ path: ['lt'], message: 'a range has one upper bound, but `lte` and `lt` are both given', suggestion: 'keep `lte` or `lt`' });
  const low = o.gte ?? o.gt;
  const high = o.lte ?? o.lt;
  if (low !== undefined && high !== undefined && (low > high || (low === high && (o.gt !== undefined || o.lt !== undefined)))) {
    problems.push({ path: [o.lte === undefined ? 'lt' : 'lte'], message: `the range is empty: no number is ${o.gte === undefined ? 'above' : 'at least'} ${low} and ${o.lte === undefined ? 'below' : 'at most'} ${high}`, suggestion: low === high ? 'include the bound (`gte`, `lte`) or use `equals`' : 'swap the bounds' });
  }

  if (o.matches !== undefined) {
    try {
      new RegExp(o.matches);
    } catch (error) {
      problems.push({ path: ['matches'], message: `not a regular expression: ${(error as Error).message}`, suggestion: 'escape special characters with a backslash, e.g. `\\.` for a dot' });
    }
  }
  if (type === undefined) return problems;

  if (type !== 'number') {
    for (const bound of BOUNDS) {
      if (o[bound] === undefined) continue;
      const suggestion = type === 'string' && o.field.startsWith(METADATA) ? 'metadata values are strings: use `equals`, `in` or `matches` (e.g. `^[0-9]+$`)' : 'use `equals`, `in` or `matches`';
      problems.push({ path: [bound], message: `\`${bound}\` compares numbers, but \`${o.field}\` is a ${type}`, suggestion });
    }
  }
  if (o.matches !== undefined && type !== 'string') {
    problems.push({ path: ['matches'], message: `\`matches\` tests strings, but \`${o.field}\` is a ${type}`, suggestion: type === 'number' ? 'use a range (`gte`/`gt`, `lte`/`lt`), `equals` or `in`' : 'use `equals`' });
  }
  if (o.equals !== undefined) {
    const problem = valueProblem(['equals'], o.field, type, o.equals);
    if (problem !== null) problems.push(problem);
  }
  o.in?.forEach((value, index) => {
    const problem = valueProblem(['in', index], o.field, type, value);
    if (problem !== null) problems.push(problem);
  });
  return problems;
}

/** Reads the field of an envelope: a string, number or boolean, or undefined when absent. */
function readerFor(field: string): (e: Envelope) => unknown {
  const known = FIELDS[field];
  if (known !== undefined) return known.read;
  if (field.startsWith(METADATA)) {
    const name = field.slice(METADATA.length);
    return (e) => (Object.hasOwn(e.metadata, name) ? e.metadata[name] : undefined);
  }
  throw new CentaurError('CONFIG_INVALID', `filter: unknown field \`${field}\``);
}

/** The condition as a predicate on a present value. */
function conditionFor(o: FilterOptions): (value: unknown) => boolean {
  if (o.equals !== undefined) {
    const expected = o.equals;
    return (v) => v === expected;
  }
  if (o.in !== undefined) {
    const set = new Set<unknown>(o.in);
    return (v) => set.has(v);
  }
  if (o.matches !== undefined) {
    const pattern = new RegExp(o.matches);
    return (v) => typeof v === 'string' && pattern.test(v);
  }
  const { gte, gt, lte, lt } = o;
  if (gte !== undefined || gt !== undefined || lte !== undefined || lt !== undefined) {
    return (v) =>
      typeof v === 'number' && (gte === undefined || v >= gte) && (gt === undefined || v > gt) && (lte === undefined || v <= lte) && (lt === undefined || v < lt);
  }
  throw new CentaurError('CONFIG_INVALID', 'filter: no condition (`equals`, `in`, `matches` or a range)');
}

/** The created operator, with its decision exposed for tests. */
export interface FilterOperator extends Operator {
  /** Whether an envelope goes on (true) or is dropped. */
  keeps(envelope: Envelope): boolean;
}

/** Builds the operator; exported for tests and for embedding without the registry. */
export function createFilter(options: FilterOptions): FilterOperator {
  const problems = validateFilter(options);
  if (problems.length > 0) throw new CentaurError('CONFIG_INVALID', `filter: ${problems.map((p) => p.message).join('; ')}`);
  const read = readerFor(options.field);
  const condition = conditionFor(options);
  const keepMissing = options.missing === 'keep';
  const negate = options.negate;
  /** Whether the envelope goes on. */
  const keeps = (e: Envelope): boolean => {
    const value = read(e);
    if (value === undefined || value === null) return keepMissing;
    return condition(value) !== negate;
  };

  return {
    accepts: 'any',
    keeps,
    apply: (input: Observable<Item>, ctx: OperatorContext): Observable<Item> =>
      input.pipe(
        mergeMap((item): Observable<Item> => {
          const started = performance.now();
          const envelopes = isBatch(item) ? item.envelopes : [item];
          const kept: Envelope[] = [];
          for (const envelope of envelopes) {
            if (keeps(envelope)) kept.push(envelope);
            else ctx.drop?.(envelope);
          }
          const elapsed = performance.now() - started;
          for (const envelope of kept) envelope.timings[ctx.nodeId] = elapsed;
          if (!isBatch(item)) return kept.length === 1 ? of(item) : EMPTY;
          if (kept.length === envelopes.length) return of(item);
          // Rows of a packed tensor no longer match the envelopes: give the buffer back, send the rest without it.
          item.tensor?.release();
          return kept.length === 0 ? EMPTY : of<Item>({ kind: 'batch', envelopes: kept, tensor: null });
        }),
      ),
  };
}

/** The `filter` operator spec. */
export const filter = defineOperator({
  kind: 'filter',
  role: 'operator',
  description: 'Keeps or drops envelopes by one condition on one field (equals, in, matches, a numeric range); dropped envelopes count as done, not failed.',
  stability: 'experimental',
  options: FilterOptions,
  examples: [
    { title: 'Only inputs labelled horse', options: { field: 'label', equals: 'horse' } },
  ],
  validate: (o) => validateFilter(o),
  create: (o) => createFilter(o),
});
