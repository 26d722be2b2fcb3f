/**
 * Label events, read from untrusted places (a Kafka topic, a Label Studio annotation) and checked
 * here before they become an `Annotation`: the input id and the label must be short, printable
 * text; the origin and selection one of the known names; the time a time. Anything else is a
 * `LABEL_INVALID` error naming what is wrong, which sends the event to the dead letter.
 *
 * The Avro `Label` record (`schemas/avro/label.avsc`) and JSON label messages share the field
 * names read here: `inputId`, `label`, `annotator`, `origin`, `labelTime`, `selection`.
 */
import { LABEL_ORIGINS, isOneOf, SELECTION_STRATEGIES } from '../core/envelope.js';
import type { Annotation } from '../core/envelope.js';
import { CentaurError } from '../core/errors.js';
import type { LabelStudioAnnotation, LabelStudioTaskRecord } from './label-studio-client.js';
import { NEW_CLASS_CHOICE, NEW_CLASS_FIELD } from './label-studio-client.js';

/** How far in the future a label's time may be (clocks differ); later times are refused. */
const MAX_CLOCK_SKEW_MS = 86_400_000;

/** Longest label, annotator or input id accepted, in characters. */
export const MAX_LABEL_TEXT = 256;


/** A label for one input. */
export interface LabelEvent {
  readonly inputId: string;
  readonly annotation: Annotation;
}

/** Text from a label event, trimmed and NFC-normalized, or a `LABEL_INVALID` error saying why not. */
export function labelText(value: unknown, field: string, maxLength = MAX_LABEL_TEXT): string {
  if (typeof value !== 'string') throw invalid(`\`${field}\` is ${value === undefined || value === null ? 'missing' : `a ${typeof value}, not text`}`);
  const text = value.normalize('NFC').trim();
  if (text === '') throw invalid(`\`${field}\` is empty`);
  if ([...text].length > maxLength) throw invalid(`\`${field}\` is longer than ${maxLength} characters`);
  if (/[\p{Cc}\p{Cf}\p{Cs}]/u.test(text)) throw invalid(`\`${field}\` holds control, format (zero-width, bidi) or unpaired surrogate characters`);
  return text;
}

/** A label record (Avro `Label` or the same fields in JSON); `origin` defaults to `kafka` and `labelTime` to `fallbackTime`. */
export function labelFromRecord(record: Readonly<Record<string, unknown>>, fallbackTime: number): LabelEvent {
  const origin = record.origin ?? 'kafka';
  if (!isOneOf(LABEL_ORIGINS, origin)) throw invalid(`\`origin\` must be one of ${LABEL_ORIGINS.join(', ')}`);
  const selection = record.selection ?? undefined;
  if (selection !== undefined && !isOneOf(SELECTION_STRATEGIES, selection)) throw invalid(`\`selection\` must be one of ${SELECTION_STRATEGIES.join(', ')} or absent`);
  const annotator = labelText(record.annotator ?? 'unknown', 'annotator');
  if (annotator.startsWith('label-studio:')) throw invalid('`annotator` names a Label Studio user; only `label-studio-source` may');
  const annotation: Annotation = {
    label: labelText(record.label, 'label'),
    annotator,
    origin,
    labelTime: record.labelTime === undefined || record.labelTime === null ? fallbackTime : timeOf(record.labelTime, 'labelTime'),
    ...(selection === undefined ? {} : { selection }),
  };
  return { inputId: labelText(record.inputId, 'inputId'), annotation };
}

/**
 * The label of one Label Studio annotation of a task: the choice of the `label` control, or the
 * text of the new-class field when the choice is "other / new class" and a name was typed. The
 * input id and the selection come from the task's data (as `label-studio-sink` wrote them).
 */
export function labelFromLabelStudio(task: LabelStudioTaskRecord, annotation: LabelStudioAnnotation): LabelEvent {
  const choice = annotation.result.find((r) => r.from_name === 'label' && r.type === 'choices');
  const choices = (choice?.value as { choices?: unknown } | undefined)?.choices;
  if (!Array.isArray(choices) || choices.length !== 1) throw invalid(`annotation ${annotation.id} of task ${task.id} has no single choice for \`label\``);
  const picked: unknown = choices[0];
  let label = labelText(picked, 'label');
  if (label === NEW_CLASS_CHOICE) {
    const typed = annotation.result.find((r) => r.from_name === NEW_CLASS_FIELD);
    const text = (typed?.value as { text?: unknown } | undefined)?.text;
    const name: unknown = Array.isArray(text) ? (text as unknown[])[0] : text;
    if (typeof name === 'string' && name.trim() !== '') label = labelText(name, NEW_CLASS_FIELD);
    else if (name !== undefined && name !== null && typeof name !== 'string') throw invalid(`the new class name of annotation ${annotation.id} is not text`);
  }
  const strategy = task.data.strategy;
  return {
    inputId: labelText(task.data.inputId, 'task data `inputId`'),
    annotation: {
      label,
      annotator: `label-studio:${annotation.completedBy ?? 'unknown'}`,
      origin: 'label-studio',
      labelTime: timeOf(annotation.updatedAt, 'updated_at'),
      ...(isOneOf(SELECTION_STRATEGIES, strategy) ? { selection: strategy } : {}),
    },
  };
}

/** Milliseconds since the epoch from a number, a Date or an ISO 8601 string. */
function timeOf(value: unknown, field: string): number {
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : typeof value === 'string' ? (/^\d+$/.test(value) ? Number(value) : Date.parse(value)) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 0) throw invalid(`\`${field}\` is not a time (ms since the epoch or ISO 8601)`);
  if (ms > Date.now() + MAX_CLOCK_SKEW_MS) throw invalid(`\`${field}\` is more than a day in the future`);
  return ms;
}

function invalid(reason: string): CentaurError {
  return new CentaurError('LABEL_INVALID', `Label event refused: ${reason}.`);
}
