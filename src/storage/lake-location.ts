/**
 * Where a sink writes in the lake: the base URI a topology names (relative paths against the
 * topology file), and a start-time probe that lists one object under it, so a missing bucket or
 * container, or credentials that may not list it, stop the start as a config error rather than
 * turning every input into a dead letter; a store still unreachable after the retries stops it too.
 */
import { CentaurError, toCentaurError } from '../core/errors.js';
import { retry } from '../core/retry.js';
import type { ObjectStore } from './object-store.js';
import { locationToUri } from './object-uri.js';

/** The base URI of a location option, without a trailing slash. */
export function lakeBaseUri(location: string, baseDir: string): string {
  return locationToUri(location, baseDir).replace(/\/+$/, '');
}

/** Lists one object under `base`; closes the store and throws CONFIG_INVALID naming `option` when it cannot be used. */
export async function probeLake(store: ObjectStore, base: string, retries: number, nodeId: string, option = 'uri'): Promise<void> {
  try {
    await retry(() => store.list(`${base}/`, { limit: 1 }), { attempts: retries + 1, baseDelayMs: 250, maxDelayMs: 5000 });
  } catch (error) {
    await store.close();
    const e = toCentaurError(error, 'OBJECT_FETCH_FAILED');
    if (e.retriable) throw e;
    throw new CentaurError('CONFIG_INVALID', `node \`${nodeId}\`: \`${option}\` ${base} cannot be used: ${e.message}`, { cause: e });
  }
}
