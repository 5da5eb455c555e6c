import { LRUCache } from 'lru-cache';
import type { ResultStore, ResultStoreStats } from './result-store';
import { estimateRecordBytes, type TaskRecord } from './task-record';

/** Bounds of a {@link MemoryResultStore}. */
export interface MemoryResultStoreOptions {
  /** Most records held; the least recently stored are evicted first. */
  readonly maxCount: number;
  /** Most bytes held (approximate, see `estimateRecordBytes`). */
  readonly maxBytes: number;
  /** Time to live of a record, in ms (SPEC default 600 000); 0 = no expiry. */
  readonly ttlMs: number;
  /** How often expired records are purged, in ms; default min(ttl/10, 5 s), at least 250 ms. */
  readonly purgeIntervalMs?: number;
}

/** Defaults: 1,000,000 records, 512 MiB, 600 s. */
export const DEFAULT_MEMORY_STORE_OPTIONS: MemoryResultStoreOptions = Object.freeze({
  maxCount: 1_000_000,
  maxBytes: 512 * 1024 * 1024,
  ttlMs: 600_000,
});

/**
 * The embedded default store: an LRU (lru-cache) bounded by count, bytes and TTL. Expired records are
 * purged on a timer (unref'd), so they are gone within a few seconds of their TTL, not only when read.
 */
export class MemoryResultStore implements ResultStore {
  readonly #cache: LRUCache<string, TaskRecord>;
  readonly #purgeTimer: NodeJS.Timeout | undefined;

  constructor(options: MemoryResultStoreOptions = DEFAULT_MEMORY_STORE_OPTIONS) {
    if (!(options.maxCount >= 1) || !(options.maxBytes >= 1) || !(options.ttlMs >= 0)) {
      throw new RangeError(`invalid result store bounds: ${JSON.stringify(options)}`);
    }
    this.#cache = new LRUCache<string, TaskRecord>({
      max: options.maxCount,
      maxSize: options.maxBytes,
      sizeCalculation: estimateRecordBytes,
      ttl: options.ttlMs,
      updateAgeOnGet: false,
      allowStale: false,
    });
    if (options.ttlMs > 0) {
      const every = options.purgeIntervalMs ?? Math.max(250, Math.min(options.ttlMs / 10, 5000));
      this.#purgeTimer = setInterval(() => this.#cache.purgeStale(), every);
      this.#purgeTimer.unref();
    }
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return Promise.resolve(this.#cache.get(taskId));
  }

  insert(record: TaskRecord): Promise<TaskRecord | undefined> {
    const existing = this.#cache.get(record.taskId);
    if (existing) return Promise.resolve(existing);
    this.#cache.set(record.taskId, record);
    return Promise.resolve(undefined);
  }

  update(record: TaskRecord): Promise<void> {
    this.#cache.set(record.taskId, record);
    return Promise.resolve();
  }

  delete(taskId: string): Promise<boolean> {
    return Promise.resolve(this.#cache.delete(taskId));
  }

  stats(): Promise<ResultStoreStats> {
    return Promise.resolve({ count: this.#cache.size, bytes: this.#cache.calculatedSize });
  }

  close(): Promise<void> {
    if (this.#purgeTimer) clearInterval(this.#purgeTimer);
    this.#cache.clear();
    return Promise.resolve();
  }
}
