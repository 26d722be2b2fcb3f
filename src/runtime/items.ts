/** Items between nodes: forking them for a second consumer, unbatching them for envelope operators. */
import { forkEnvelope, isBatch } from '../core/envelope.js';
import type { Envelope, Item } from '../core/envelope.js';

/** A copy of an item for a node's second and later consumers: envelopes forked, no batch tensor. */
export function forkItem(item: Item): Item {
  if (!isBatch(item)) return forkEnvelope(item);
  return { kind: 'batch', envelopes: item.envelopes.map(forkEnvelope), tensor: null };
}

/** The envelopes of an item; a batch's tensor is released. */
export function unbatch(item: Item): Envelope[] {
  if (!isBatch(item)) return [item];
  item.tensor?.release();
  return item.envelopes;
}
