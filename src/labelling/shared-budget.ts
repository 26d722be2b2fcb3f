/**
 * A labelling budget shared by every instance of a topology, kept in Redis: one labels-per-hour
 * token bucket (full at first use, refilled continuously, on Redis's clock) and a mark per input
 * granted. A window's picks are offered in order; each is granted while a token is left, and an
 * input granted before (the same input read again after a crash or a rebalance) is granted again
 * without spending one, so the ceiling holds across instances and restarts and a re-read input
 * keeps its pick. One Lua script does it atomically.
 *
 * When Redis cannot be reached, a window gets no picks (the budget can only be under-spent) and
 * the caller logs it; the stream goes on.
 */
import { Redis } from 'ioredis';
import { CentaurError } from '../core/errors.js';

/** Where the shared budget lives and how it refills. */
export interface SharedBudgetOptions {
  readonly url: string;
  /** Prefix of the budget's keys, e.g. `centaur:labelling:<topology>:<node>`. */
  readonly key: string;
  readonly perHour: number;
  /** How long an input's grant is remembered, in seconds. */
  readonly grantTtlSeconds: number;
  readonly timeoutMs: number;
}

/**
 * KEYS[1]: the bucket hash (tokens, at); ARGV: capacity, per-ms refill, grant TTL (s), grant key
 * prefix, then the input ids in order. Returns the ids granted.
 */
const RESERVE = `
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local prefix = ARGV[4]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens = tonumber(redis.call('HGET', KEYS[1], 'tokens'))
local at = tonumber(redis.call('HGET', KEYS[1], 'at'))
if tokens == nil then tokens = capacity; at = now end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local granted = {}
for i = 5, #ARGV do
  local mark = prefix .. ARGV[i]
  if redis.call('EXISTS', mark) == 1 then
    table.insert(granted, ARGV[i])
  elseif tokens >= 1 then
    tokens = tokens - 1
    redis.call('SET', mark, '1', 'EX', ttl)
    table.insert(granted, ARGV[i])
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
return granted
`;

/** The shared labels-per-hour ceiling; why: a budget is per topology, not per instance. */
export class SharedBudget {
  private readonly client: Redis;
  private closed = false;

  constructor(private readonly options: SharedBudgetOptions) {
    this.client = new Redis(options.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: options.timeoutMs, connectTimeout: Math.max(options.timeoutMs, 1000), retryStrategy: (times) => Math.min(100 * times, 2000) });
    this.client.on('error', () => undefined);
    this.client.defineCommand('centaurReserveLabels', { numberOfKeys: 1, lua: RESERVE });
  }

  /** Connects; a Redis that does not answer is `CONFIG_INVALID` at start. */
  async connect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (error) {
      this.client.disconnect();
      throw new CentaurError('CONFIG_INVALID', `the shared labelling budget's Redis cannot be reached: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The ids granted among `ids` (offered in order): those granted before, then new ones while tokens last. */
  async reserve(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const capacity = Math.max(1, this.options.perHour);
    const reserve = (this.client as unknown as { centaurReserveLabels: (...args: (string | number)[]) => Promise<string[]> }).centaurReserveLabels;
    const granted = await reserve.call(this.client, `${this.options.key}:bucket`, capacity, this.options.perHour / 3_600_000, this.options.grantTtlSeconds, `${this.options.key}:granted:`, ...ids);
    return new Set(granted);
  }

  /** Closes the connection (once). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
