/** Fetches `/api/status` and `/api/history`, relative to the page so the dashboard also works behind a path prefix. */
import type { HistoryPoint, StatusSnapshot } from './lib/api-types.js';

/** The page's own `?token=`, passed on to the API calls when the server asks for one. */
const TOKEN = new URLSearchParams(globalThis.location?.search ?? '').get('token');
const withToken = (url: string): string => (TOKEN === null ? url : `${url}?token=${encodeURIComponent(TOKEN)}`);

export const STATUS_URL = withToken('api/status');
export const EVENTS_URL = withToken('api/events');
export const HISTORY_URL = withToken('api/history');

/** Reads the recent history points (after a restart of the process behind the page). */
export async function fetchHistory(timeoutMs = 5000): Promise<HistoryPoint[]> {
  const response = await fetch(HISTORY_URL, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), cache: 'no-store' });
  if (!response.ok) throw new Error(`${HISTORY_URL}: HTTP ${response.status}`);
  return ((await response.json()) as { points: HistoryPoint[] }).points;
}

/** Reads the status snapshot, rejecting on a network error, an HTTP error or a timeout. */
export async function fetchStatus(timeoutMs = 5000): Promise<StatusSnapshot> {
  const response = await fetch(STATUS_URL, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), cache: 'no-store' });
  if (!response.ok) throw new Error(`${STATUS_URL}: HTTP ${response.status}`);
  return (await response.json()) as StatusSnapshot;
}
