/** Reads a window partial from a Kafka record value (JSON, as the `drift` operator's `partials` publish it). */
import { DriftInputError } from '../drift/errors.js';
import type { DriftPartial } from './monitor.js';

/** Parses and checks a partial; why: a foreign or newer record on the topic is refused with a reason. */
export function readPartial(value: Buffer | null): DriftPartial {
  if (value === null) throw new DriftInputError('empty record (a tombstone), not a drift partial');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    throw new DriftInputError(`not JSON: ${(error as Error).message}`);
  }
  const p = json as Partial<Record<keyof DriftPartial, unknown>> | null;
  if (p === null || typeof p !== 'object' || p.type !== 'drift-partial') throw new DriftInputError('not a drift partial (type is not "drift-partial")');
  if (p.version !== 1) throw new DriftInputError(`drift partial version ${String(p.version)} is not supported (1 is)`);
  const w = p.window as Partial<DriftPartial['window']> | undefined;
  if (typeof p.topology !== 'string' || typeof p.node !== 'string' || typeof p.instance !== 'string' || typeof p.late !== 'number') {
    throw new DriftInputError('drift partial lacks topology, node, instance or late');
  }
  if (w === undefined || (w.kind !== 'time' && w.kind !== 'count') || typeof w.start !== 'number' || typeof w.end !== 'number') throw new DriftInputError('drift partial has no valid window');
  if (typeof p.state !== 'object' || p.state === null) throw new DriftInputError('drift partial has no state');
  return json as DriftPartial;
}
