/**
 * The link between a `cache` lookup node and its store node: the lookup node hands its hits to
 * a channel, and the store node, further down the same topology, merges them into its output, so
 * hits skip every node in between (decode, micro-batch, infer). Nodes are created one after
 * another in topological order, so the lookup node opens a channel and the store node created
 * next with the same topology, folder and namespace takes it.
 */
import { Subject } from 'rxjs';
import type { Envelope } from '../core/envelope.js';

/** Hits on their way from a lookup node to its store node. */
export interface CacheChannel {
  readonly hits: Subject<Envelope>;
  /** The store node that took the channel, once one did. */
  storeNode?: string;
}

const open = new Map<string, CacheChannel[]>();

/** The pairing key of a namespace within one topology file. */
function pairKey(topologyName: string, baseDir: string, namespace: string): string {
  return `${topologyName}\u0000${baseDir}\u0000${namespace}`;
}

/** Opens the channel of a lookup node. */
export function openCacheChannel(topologyName: string, baseDir: string, namespace: string): CacheChannel {
  const channel: CacheChannel = { hits: new Subject<Envelope>() };
  const key = pairKey(topologyName, baseDir, namespace);
  open.set(key, [...(open.get(key) ?? []), channel]);
  return channel;
}

/** Takes the oldest channel a lookup node opened for this namespace, or null when none is waiting. */
export function takeCacheChannel(topologyName: string, baseDir: string, namespace: string, storeNode: string): CacheChannel | null {
  const key = pairKey(topologyName, baseDir, namespace);
  const waiting = open.get(key) ?? [];
  const channel = waiting.shift();
  if (waiting.length === 0) open.delete(key);
  if (channel === undefined) return null;
  channel.storeNode = storeNode;
  return channel;
}

/** Forgets a lookup node's channel that no store node took (its topology stopped). */
export function dropCacheChannel(topologyName: string, baseDir: string, namespace: string, channel: CacheChannel): void {
  const key = pairKey(topologyName, baseDir, namespace);
  const rest = (open.get(key) ?? []).filter((c) => c !== channel);
  if (rest.length === 0) open.delete(key);
  else open.set(key, rest);
}
