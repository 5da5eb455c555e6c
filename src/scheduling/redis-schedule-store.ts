import type { Redis } from 'ioredis';
import type { ScheduleStore, StoredSchedule } from './schedule-store';

/** Records a fire only when it is later than the one stored (replicas race on the same fire). */
const FIRED_SCRIPT = `
local current = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if current < tonumber(ARGV[2]) then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 0`;

/**
 * Schedules in Redis, shared by the replicas: hash `<prefix>schedules` (name → schedule JSON) and hash
 * `<prefix>schedfires` (name → epoch ms of the latest fire).
 */
export class RedisScheduleStore implements ScheduleStore {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #firesKey: string;
  readonly #call: <T>(pending: Promise<T>) => Promise<T>;

  constructor(redis: Redis, prefix: string, call: <T>(pending: Promise<T>) => Promise<T>) {
    this.#redis = redis;
    this.#key = `${prefix}schedules`;
    this.#firesKey = `${prefix}schedfires`;
    this.#call = call;
  }

  async list(): Promise<StoredSchedule[]> {
    const [schedules, fires] = await this.#call(Promise.all([this.#redis.hgetall(this.#key), this.#redis.hgetall(this.#firesKey)]));
    return Object.entries(schedules)
      .map(([name, json]) => ({ ...(JSON.parse(json) as StoredSchedule), lastFireAt: Number(fires[name] ?? 0) }))
      .sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async put(schedule: StoredSchedule): Promise<void> {
    await this.#call(this.#redis.multi().hset(this.#key, schedule.name, JSON.stringify({ ...schedule, lastFireAt: 0 })).hdel(this.#firesKey, schedule.name).exec());
  }

  async delete(name: string): Promise<boolean> {
    const results = await this.#call(this.#redis.multi().hdel(this.#key, name).hdel(this.#firesKey, name).exec());
    return Number(results?.[0]?.[1] ?? 0) > 0;
  }

  async fired(name: string, at: number): Promise<void> {
    await this.#call(this.#redis.eval(FIRED_SCRIPT, 1, this.#firesKey, name, at));
  }
}
