import type { Redis } from 'ioredis';
import type { RateLimit } from './rate-limit';

/**
 * The limits one start must pass across every replica sharing a store (Redis): the ones the local run
 * queue applied to the slot the task just took (`RunQueue.limitsOf`). Zero / undefined: that limit
 * is not set.
 */
export interface StartLimits {
  readonly method: string;
  /** `--method-concurrency` or the registration's `maxConcurrency`. */
  readonly methodConcurrency: number;
  /** `--method-rate-limit` or the registration's `rateLimit`. */
  readonly methodRate: RateLimit | undefined;
  /** The task's concurrency key; '' for none. */
  readonly key: string;
  /** `--key-concurrency` (for a task with a key). */
  readonly keyConcurrency: number;
  /** `--key-rate-limit` (for a task with a key). */
  readonly keyRate: RateLimit | undefined;
}

/**
 * The global side of the run queue's limits: running counts per method and per key, and start rates
 * per method and per key, counted across replicas. The local run queue grants a slot first; then this.
 */
export interface GlobalLimits {
  /**
   * Counts one start against every limit in `limits`, all or none: 0 when it may start (it then holds
   * the method's and the key's global slots where those limits are set, until {@link release}), else
   * the ms to wait before asking again.
   */
  tryStart(limits: StartLimits): Promise<number>;
  /** Gives back the global slots a granted start holds. */
  release(limits: StartLimits): Promise<void>;
}

/** How long a start refused for a full global slot waits before it asks again, ms. */
export const GLOBAL_SLOT_RETRY_MS = 25;

/**
 * One script, so a start passes every limit or counts against none.
 * Slots: each replica's count is a field of the slot hash, and a field whose replica's lease key has
 * expired (the replica was lost) is dropped, so its slots come back within about one lease (`--lease-ms`).
 * Rates: a sliding log of start times (a sorted set, Redis's clock, so replicas' clocks do not matter).
 * KEYS: method slot hash, key slot hash, method rate log, key rate log.
 * ARGV: replica, lease-key prefix, method limit, key limit, method starts, method interval ms,
 * key starts, key interval ms, a unique member for the logs, the slot retry ms.
 * Returns 0 (granted) or the ms to wait.
 */
const START_SCRIPT = `
local function taken(hash)
  local fields = redis.call('HGETALL', hash)
  local total = 0
  for i = 1, #fields, 2 do
    local replica = fields[i]
    if replica ~= ARGV[1] and redis.call('EXISTS', ARGV[2] .. replica) == 0 then
      redis.call('HDEL', hash, replica)
    else
      total = total + tonumber(fields[i + 1])
    end
  end
  return total
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function rateWait(log, starts, interval)
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - interval)
  if redis.call('ZCARD', log) < starts then return 0 end
  local oldest = redis.call('ZRANGE', log, 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + interval - now)
end
local methodLimit, keyLimit = tonumber(ARGV[3]), tonumber(ARGV[4])
local methodStarts, methodInterval = tonumber(ARGV[5]), tonumber(ARGV[6])
local keyStarts, keyInterval = tonumber(ARGV[7]), tonumber(ARGV[8])
local wait = 0
if methodLimit > 0 and taken(KEYS[1]) >= methodLimit then wait = tonumber(ARGV[10]) end
if keyLimit > 0 and taken(KEYS[2]) >= keyLimit then wait = tonumber(ARGV[10]) end
if methodStarts > 0 then wait = math.max(wait, rateWait(KEYS[3], methodStarts, methodInterval)) end
if keyStarts > 0 then wait = math.max(wait, rateWait(KEYS[4], keyStarts, keyInterval)) end
if wait > 0 then return wait end
if methodLimit > 0 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
  redis.call('PEXPIRE', KEYS[1], 86400000)
end
if keyLimit > 0 then
  redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
  redis.call('PEXPIRE', KEYS[2], 86400000)
end
if methodStarts > 0 then
  redis.call('ZADD', KEYS[3], now, ARGV[9])
  redis.call('PEXPIRE', KEYS[3], methodInterval)
end
if keyStarts > 0 then
  redis.call('ZADD', KEYS[4], now, ARGV[9])
  redis.call('PEXPIRE', KEYS[4], keyInterval)
end
return 0`;

/** KEYS: the slot hashes to give back (one or two). ARGV: replica. */
const RELEASE_SCRIPT = `
for i = 1, #KEYS do
  local n = redis.call('HINCRBY', KEYS[i], ARGV[1], -1)
  if n <= 0 then redis.call('HDEL', KEYS[i], ARGV[1]) end
end
return 0`;

export class RedisGlobalLimits implements GlobalLimits {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #replica: string;
  #starts = 0;

  constructor(redis: Redis, prefix: string, replica: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#replica = replica;
  }

  async tryStart(limits: StartLimits): Promise<number> {
    const keyed = limits.key !== '';
    const keyLimit = keyed ? limits.keyConcurrency : 0;
    const keyRate = keyed ? limits.keyRate : undefined;
    const wait = await this.#redis.eval(
      START_SCRIPT,
      4,
      this.#methodSlots(limits.method),
      this.#keySlots(limits.key),
      `${this.#prefix}mr:${limits.method}`,
      `${this.#prefix}kr:${limits.key}`,
      this.#replica,
      `${this.#prefix}l:`,
      limits.methodConcurrency,
      keyLimit,
      limits.methodRate?.starts ?? 0,
      limits.methodRate?.intervalMs ?? 0,
      keyRate?.starts ?? 0,
      keyRate?.intervalMs ?? 0,
      `${this.#replica}:${++this.#starts}`,
      GLOBAL_SLOT_RETRY_MS,
    );
    return Number(wait);
  }

  async release(limits: StartLimits): Promise<void> {
    const hashes: string[] = [];
    if (limits.methodConcurrency > 0) hashes.push(this.#methodSlots(limits.method));
    if (limits.key !== '' && limits.keyConcurrency > 0) hashes.push(this.#keySlots(limits.key));
    if (hashes.length > 0) await this.#redis.eval(RELEASE_SCRIPT, hashes.length, ...hashes, this.#replica);
  }

  #methodSlots(method: string): string {
    return `${this.#prefix}ms:${method}`;
  }

  #keySlots(key: string): string {
    return `${this.#prefix}ks:${key}`;
  }
}
