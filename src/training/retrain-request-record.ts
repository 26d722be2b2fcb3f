/**
 * A retrain request as the trainer reads it from a topic (Avro `RetrainRequest` v1–v3 or its JSON):
 * untrusted, so only what the trainer uses is taken, checked and bounded — the id, the episode (v1
 * requests have none: their id stands for it), the model it is about, when it was made, and the
 * reasons.
 */
import { CentaurError } from '../core/errors.js';

/** The fields the trainer uses. */
export interface RetrainRequestRecord {
  readonly id: string;
  readonly episode: string;
  readonly model: { readonly name: string; readonly version: string } | null;
  readonly requestedAt: number;
  readonly reasons: readonly string[];
}

const MAX_TEXT = 512;

function text(value: unknown, field: string, required: boolean): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw new CentaurError('RETRAIN_REQUEST_INVALID', `the retrain request has no \`${field}\``);
    return undefined;
  }
  if (typeof value !== 'string' || value.length === 0) throw new CentaurError('RETRAIN_REQUEST_INVALID', `\`${field}\` of the retrain request is not a non-empty string`);
  if (value.length > MAX_TEXT) throw new CentaurError('RETRAIN_REQUEST_INVALID', `\`${field}\` of the retrain request is longer than ${MAX_TEXT} characters`);
  return value;
}

/** The request in a decoded record; RETRAIN_REQUEST_INVALID naming what is wrong. */
export function parseRetrainRequest(value: unknown): RetrainRequestRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CentaurError('RETRAIN_REQUEST_INVALID', 'the record is not an object');
  const r = value as Record<string, unknown>;
  const id = text(r.id, 'id', true) as string;
  const episode = text(r.episode, 'episode', false) ?? id;
  const at = r.requestedAt instanceof Date ? r.requestedAt.getTime() : r.requestedAt;
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) throw new CentaurError('RETRAIN_REQUEST_INVALID', 'the retrain request has no `requestedAt` time in milliseconds');
  let model: RetrainRequestRecord['model'] = null;
  if (r.model !== undefined && r.model !== null) {
    const m = r.model as Record<string, unknown>;
    model = { name: text(m.name, 'model.name', true) as string, version: text(m.version, 'model.version', true) as string };
  }
  const reasons = Array.isArray(r.reasons) ? r.reasons.filter((x): x is string => typeof x === 'string').slice(0, 16).map((x) => x.slice(0, 64)) : [];
  return { id, episode, model, requestedAt: at, reasons };
}
