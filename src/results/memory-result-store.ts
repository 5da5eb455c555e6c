import { performance } from 'node:perf_hooks';
import { CHUNK_BYTES, RecordLog } from './record-log';
import type { ResultStore, ResultStoreStats } from './result-store';
import { PageCollector, type TaskPage, type TaskQuery } from './task-query';
import { estimateRecordBytes, isFinished, type TaskRecord } from './task-record';

/** Bounds of a {@link MemoryResultStore}. */
export interface MemoryResultStoreOptions {
  /** Most records held; the least recently stored finished records are evicted first. */
  readonly maxCount: number;
  /** Most bytes held: the memory of finished records (see RecordLog.bytes), unfinished ones estimated. */
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
 * The embedded default store. Finished records live in a {@link RecordLog}: encoded off the V8 heap,
 * evicted least recently stored first when a bound is reached, and expired on a timer (unref'd), so they
 * are gone within a few seconds of their TTL, and read as absent from the moment it passes.
 *
 * Unfinished (PENDING/RUNNING) records are few and change often: they are kept as they are, in a Map.
 * They are never evicted and do not expire — the engine is still working on them, and they are bounded by
 * its own limits (concurrency, queue) — but they count towards the bounds, so finished records make way.
 */
export class MemoryResultStore implements ResultStore {
  /** Records live only as long as the process. */
  readonly durable = false;
  #log: RecordLog;
  readonly #chunkBytes: number;
  readonly #unfinished = new Map<string, TaskRecord>();
  #unfinishedBytes = 0;
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #ttlMs: number;
  readonly #purgeTimer: NodeJS.Timeout | undefined;

  constructor(options: MemoryResultStoreOptions = DEFAULT_MEMORY_STORE_OPTIONS) {
    if (!(options.maxCount >= 1) || !(options.maxBytes >= 1) || !(options.ttlMs >= 0)) {
      throw new RangeError(`invalid result store bounds: ${JSON.stringify(options)}`);
    }
    // Chunks of at most a 16th of the byte bound, so that the bound (which counts allocated chunks)
    // still leaves room for records when it is small.
    this.#chunkBytes = Math.max(1024, Math.min(CHUNK_BYTES, 2 ** Math.floor(Math.log2(options.maxBytes / 16))));
    this.#log = new RecordLog(this.#chunkBytes);
    this.#maxCount = options.maxCount;
    this.#maxBytes = options.maxBytes;
    this.#ttlMs = options.ttlMs;
    if (options.ttlMs > 0) {
      const every = options.purgeIntervalMs ?? Math.max(250, Math.min(options.ttlMs / 10, 5000));
      this.#purgeTimer = setInterval(() => this.#log.purgeExpired(performance.now()), every);
      this.#purgeTimer.unref();
    }
  }

  recordBytes(taskId: string): number | undefined {
    if (this.#unfinished.has(taskId)) return undefined; // no result yet: small
    const bytes = this.#log.bytesOf(taskId, performance.now());
    return bytes < 0 ? undefined : bytes;
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    return Promise.resolve(this.#get(taskId));
  }

  getMany(taskIds: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    return Promise.resolve(taskIds.map((taskId) => this.#get(taskId)));
  }

  insert(record: TaskRecord): Promise<TaskRecord | undefined> {
    const existing = this.#get(record.taskId);
    if (existing) return Promise.resolve(existing);
    this.#put(record);
    return Promise.resolve(undefined);
  }

  insertMany(records: readonly TaskRecord[]): Promise<TaskRecord[]> {
    const existing: TaskRecord[] = [];
    for (const record of records) {
      const found = this.#get(record.taskId);
      if (found) existing.push(found);
    }
    if (existing.length === 0) for (const record of records) this.#put(record);
    return Promise.resolve(existing);
  }

  update(record: TaskRecord): Promise<void> {
    this.#put(record);
    return Promise.resolve();
  }

  /**
   * Walks every record (the log has no index on submission time): header fields first, so a page
   * decodes only the records that can enter it — a few thousand of a million.
   */
  list(query: TaskQuery): Promise<TaskPage> {
    const page = new PageCollector(query);
    for (const record of this.#unfinished.values()) page.offer(record.submittedAt, record.status, () => record);
    this.#log.scan(performance.now(), (submittedAt, status, load) => page.offer(submittedAt, status, load));
    return Promise.resolve(page.page());
  }

  delete(taskId: string): Promise<boolean> {
    return Promise.resolve(this.#deleteUnfinished(taskId) || this.#log.delete(taskId));
  }

  stats(): Promise<ResultStoreStats> {
    return Promise.resolve({ count: this.#unfinished.size + this.#log.size, bytes: this.#unfinishedBytes + this.#log.bytes });
  }

  close(): Promise<void> {
    if (this.#purgeTimer) clearInterval(this.#purgeTimer);
    this.#unfinished.clear();
    this.#unfinishedBytes = 0;
    this.#log = new RecordLog(this.#chunkBytes);
    return Promise.resolve();
  }

  #get(taskId: string): TaskRecord | undefined {
    return this.#unfinished.get(taskId) ?? this.#log.get(taskId, performance.now());
  }

  /** Stores `record` over any record of its id, then evicts the least recently stored beyond the bounds. */
  #put(record: TaskRecord): void {
    const taskId = record.taskId;
    this.#deleteUnfinished(taskId);
    if (isFinished(record.status)) {
      this.#log.put(record, this.#ttlMs > 0 ? performance.now() + this.#ttlMs : Infinity);
    } else {
      this.#log.delete(taskId); // a finished record is not normally reopened, but the store allows it
      this.#unfinished.set(taskId, record);
      this.#unfinishedBytes += estimateRecordBytes(record);
    }
    while (
      (this.#unfinished.size + this.#log.size > this.#maxCount || this.#unfinishedBytes + this.#log.bytes > this.#maxBytes) &&
      this.#log.evictOldest()
    );
  }

  #deleteUnfinished(taskId: string): boolean {
    const record = this.#unfinished.get(taskId);
    if (!record) return false;
    this.#unfinished.delete(taskId);
    this.#unfinishedBytes -= estimateRecordBytes(record);
    return true;
  }
}
