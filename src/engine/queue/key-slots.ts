import type { Redis } from 'ioredis';

/**
 * Running-task slots per concurrency key counted across every replica sharing a store (Redis): the
 * global side of `--key-concurrency`. The local run queue grants a slot first; then this count.
 */
export interface KeySlots {
  /** Takes one of `limit` global slots of `key`: false when all are taken. */
  tryAcquire(key: string, limit: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

/**
 * Counts only live replicas' slots: each replica's count is a field of the key's hash, and a field
 * whose replica's lease key has expired (the replica was lost) is dropped, so its slots come back
 * within about one lease (`--lease-ms`).
 * KEYS: the key's slot hash. ARGV: limit, this replica, the lease-key prefix.
 */
const ACQUIRE_SCRIPT = `
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local replica = fields[i]
  if replica ~= ARGV[2] and redis.call('EXISTS', ARGV[3] .. replica) == 0 then
    redis.call('HDEL', KEYS[1], replica)
  else
    total = total + tonumber(fields[i + 1])
  end
end
if total >= tonumber(ARGV[1]) then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
redis.call('PEXPIRE', KEYS[1], 86400000)
return 1`;

const RELEASE_SCRIPT = `
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return n`;

export class RedisKeySlots implements KeySlots {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #replica: string;

  constructor(redis: Redis, prefix: string, replica: string) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#replica = replica;
  }

  async tryAcquire(key: string, limit: number): Promise<boolean> {
    return (await this.#redis.eval(ACQUIRE_SCRIPT, 1, `${this.#prefix}ks:${key}`, limit, this.#replica, `${this.#prefix}l:`)) === 1;
  }

  async release(key: string): Promise<void> {
    await this.#redis.eval(RELEASE_SCRIPT, 1, `${this.#prefix}ks:${key}`, this.#replica);
  }
}
