/** Fetches `/api/status`, relative to the page so the dashboard also works behind a path prefix. */
import type { StatusSnapshot } from './lib/api-types.js';

export const STATUS_URL = 'api/status';
export const EVENTS_URL = 'api/events';

/** Reads the status snapshot, rejecting on a network error, an HTTP error or a timeout. */
export async function fetchStatus(timeoutMs = 5000): Promise<StatusSnapshot> {
  const response = await fetch(STATUS_URL, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), cache: 'no-store' });
  if (!response.ok) throw new Error(`${STATUS_URL}: HTTP ${response.status}`);
  return (await response.json()) as StatusSnapshot;
}
