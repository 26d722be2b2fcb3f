/**
 * The counters every node has, the same for every kind: inputs received, sent on and failed
 * (what a node leaves out on purpose is received − sent − failed).
 */

/** Per-node counters, the same for every node. */
export interface NodeCounters {
  received: number;
  sent: number;
  failed: number;
}

/** A node's health: `failing` after its last write or commit failed, until one succeeds. */
export interface NodeHealth {
  state: 'running' | 'failing' | 'stopped';
  reason?: string;
}
