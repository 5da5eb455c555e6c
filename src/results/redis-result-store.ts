import { randomBytes } from 'node:crypto';
import { RedisGlobalLimits, type GlobalLimits } from '../engine/queue/global-limits';
import { RedisScheduleStore } from '../scheduling/redis-schedule-store';
import type { ScheduleStore } from '../scheduling/schedule-store';
import { hostname } from 'node:os';
import { Redis, type RedisOptions } from 'ioredis';
import { StatusCode, StoreUnavailableError, clip } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import type { ResultStoreStats } from './result-store';
import { INSERT_MANY_SCRIPT, INSERT_SCRIPT, REAP_SCRIPT, RENEW_SCRIPT, SWEEP_INDEX_SCRIPT, TRANSITION_SCRIPT } from './redis-scripts';
import { PageCollector, type TaskPage, type TaskQuery } from './task-query';
import type { SharedResultStore } from './shared-result-store';
import { decodeRecord, encodeRecord } from './redis-record-codec';
import { isFinished, type TaskRecord } from './task-record';

/** Settings of a {@link RedisResultStore}. */
export interface RedisResultStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  readonly url: string;
  /** Prefix of every key and channel, so several deployments can share one Redis. */
  readonly prefix: string;
  /** Time to live of a record, in ms (Redis expiry); 0 = no expiry. */
  readonly ttlMs: number;
  /** How long a replica's ownership of its running tasks lasts without renewal (renewed every third). */
  readonly leaseMs: number;
  /** This replica's name; default `<hostname>-<pid>-<random>`. */
  readonly replicaId?: string;
  /** How long a command may take before it fails UNAVAILABLE (and how long connecting may take). */
  readonly commandTimeoutMs?: number;
  readonly logger?: Logger;
}

/** Defaults of the Redis settings (prefix, lease). */
export const DEFAULT_REDIS_PREFIX = 'task-scheduler:';
export const DEFAULT_LEASE_MS = 5_000;

/** Index entries a listing reads per batch, and per call at most (a page may then be short). */
const LIST_BATCH = 500;
const MAX_LISTED_PER_CALL = 20_000;
/** Oldest index entries checked for expired records at each lost-replica check. */
const SWEEP_INDEX_COUNT = 200;

/** Most terminal records kept for writing when Redis is back (~0.5 KB each). */
const MAX_UNSAVED = 100_000;

interface ScriptCommands {
  tsInsert(record: string, owned: string, index: string, value: string, ttl: number, id: string, submittedAt: number): Promise<string | null>;
  tsInsertMany(...keysAndArgs: Array<string | number>): Promise<string[]>;
  tsTransition(record: string, owned: string, index: string, value: string, ttl: number, id: string, channel: string, submittedAt: number): Promise<string | null>;
  tsSweepIndex(index: string, prefix: string, count: number): Promise<number>;
  tsRenew(lease: string, replicas: string, leaseMs: number, replica: string): Promise<number>;
  tsReap(replicas: string, prefix: string, now: number, ttl: number, replica: string, code: number): Promise<Array<string | number>>;
}

type Client = Redis & ScriptCommands;

interface Waiter {
  settle(record: TaskRecord | undefined): void;
  fail(err: unknown): void;
}

/**
 * Task records in Redis, shared by every replica that uses the same URL and prefix (see
 * {@link SharedResultStore}). Each transition is one Lua script (one round trip). While Redis is unreachable every call fails at once with a
 * {@link StoreUnavailableError} (no offline queue, no retries of a command); the connection comes back
 * by itself, and terminal records that could not be written meanwhile are written then.
 */
export class RedisResultStore implements SharedResultStore {
  /** Records outlive each replica (a lost replica's tasks are taken over by another). */
  readonly durable = true;
  readonly replicaId: string;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #leaseMs: number;
  readonly #where: string;
  readonly #logger: Logger;
  readonly #redis: Client;
  readonly schedules: ScheduleStore;
  /** Method and key running counts and start rates across replicas (`engine/queue/global-limits.ts`). */
  readonly globalLimits: GlobalLimits;
  readonly #sub: Redis;
  readonly #ownedKey: string;
  readonly #leaseKey: string;
  readonly #replicasKey: string;
  readonly #indexKey: string;
  readonly #cancelChannel: string;
  readonly #doneChannelPrefix: string;
  readonly #waiters = new Map<string, { waiters: Set<Waiter>; subscribed: Promise<unknown> }>();
  /** Terminal records whose write failed (Redis down): written again when it is back. */
  readonly #unsaved = new Map<string, TaskRecord>();
  readonly #timers: NodeJS.Timeout[] = [];
  #cancelHandler: ((taskId: string) => void) | undefined;
  #takeoverHandler: ((records: TaskRecord[], replica: string) => void) | undefined;
  #cancelSubscribed = false;
  #droppedUnsaved = 0;
  #lastCount = 0;
  #lastError: string | undefined;
  /** Whether the lease has been taken once (a missing lease is expected only before that). */
  #leased = false;
  #down = false;
  #closed = false;

  constructor(options: RedisResultStoreOptions) {
    if (!/^rediss?:\/\//i.test(options.url)) throw new RangeError(`--store: expected redis://host:port or rediss://host:port, got '${options.url}'`);
    if (!(options.leaseMs >= 100)) throw new RangeError(`--lease-ms must be at least 100, got ${options.leaseMs}`);
    if (!(options.ttlMs >= 0)) throw new RangeError(`result ttl must be ≥ 0, got ${options.ttlMs}`);
    this.replicaId = options.replicaId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#prefix = options.prefix;
    this.#ttlMs = options.ttlMs;
    this.#leaseMs = options.leaseMs;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'redis-store' });
    const url = new URL(options.url);
    this.#where = `${url.protocol}//${url.host}`; // never the password
    this.#ownedKey = `${this.#prefix}o:${this.replicaId}`;
    this.#leaseKey = `${this.#prefix}l:${this.replicaId}`;
    this.#replicasKey = `${this.#prefix}replicas`;
    this.#indexKey = `${this.#prefix}idx`;
    this.#cancelChannel = `${this.#prefix}cancel`;
    this.#doneChannelPrefix = `${this.#prefix}d:`;
    const timeout = options.commandTimeoutMs ?? 5_000;
    const redisOptions: RedisOptions = {
      // Fail fast while Redis is away instead of queueing calls until it returns.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: timeout,
      commandTimeout: timeout,
      // No auto-pipelining: measured, it costs more client CPU per call (~14 vs ~10.5 µs) and lowers
      // throughput; commands written in the same tick still share TCP segments and Redis's reads.
      enableAutoPipelining: false,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
      ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    };
    this.#redis = new Redis(options.url, { ...redisOptions, connectionName: `task-scheduler:${this.replicaId}` }) as Client;
    this.globalLimits = new RedisGlobalLimits(this.#redis, this.#prefix, this.replicaId);
    this.schedules = new RedisScheduleStore(this.#redis, this.#prefix, (pending) => this.#call(pending));
    this.#redis.defineCommand('tsInsert', { numberOfKeys: 3, lua: INSERT_SCRIPT });
    // Variable key count: the count is passed first at each call.
    this.#redis.defineCommand('tsInsertMany', { lua: INSERT_MANY_SCRIPT });
    this.#redis.defineCommand('tsTransition', { numberOfKeys: 3, lua: TRANSITION_SCRIPT });
    this.#redis.defineCommand('tsSweepIndex', { numberOfKeys: 1, lua: SWEEP_INDEX_SCRIPT });
    this.#redis.defineCommand('tsRenew', { numberOfKeys: 2, lua: RENEW_SCRIPT });
    this.#redis.defineCommand('tsReap', { numberOfKeys: 1, lua: REAP_SCRIPT });
    this.#sub = new Redis(options.url, { ...redisOptions, connectionName: `task-scheduler-sub:${this.replicaId}` });
    this.#watch(this.#redis, 'commands');
    this.#watch(this.#sub, 'notifications');
    this.#redis.on('ready', () => void this.#onReady());
    this.#sub.on('ready', () => void this.#onSubscriberReady());
    this.#sub.on('message', (channel: string, message: string) => this.#onMessage(channel, message));
    this.#timers.push(setInterval(() => void this.#renewLease(), Math.max(30, Math.floor(this.#leaseMs / 3))));
    // A little jitter so that replicas started together do not reap in lockstep.
    this.#timers.push(setInterval(() => void this.#reap(), Math.max(50, Math.floor(this.#leaseMs / 4 + Math.random() * (this.#leaseMs / 8)))));
    for (const timer of this.#timers) timer.unref();
  }

  /** Resolves true once connected (both connections), false if not within `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.#redis.status !== 'ready' || this.#sub.status !== 'ready' || !this.#cancelSubscribed) {
      if (Date.now() >= deadline || this.#closed) return false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return true;
  }

  async get(taskId: string): Promise<TaskRecord | undefined> {
    const value = await this.#call(this.#redis.get(this.#recordKey(taskId)));
    return value === null ? undefined : decodeRecord(value);
  }

  /** MGET in slices of a thousand keys (one round trip each). */
  async getMany(taskIds: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    const out: Array<TaskRecord | undefined> = [];
    for (let from = 0; from < taskIds.length; from += 1_000) {
      const values = await this.#call(this.#redis.mget(taskIds.slice(from, from + 1_000).map((id) => this.#recordKey(id))));
      for (const value of values) out.push(value == null ? undefined : decodeRecord(value));
    }
    return out;
  }

  async insert(record: TaskRecord): Promise<TaskRecord | undefined> {
    const existing = await this.#call(
      this.#redis.tsInsert(this.#recordKey(record.taskId), this.#ownedKey, this.#indexKey, encodeRecord(record), this.#ttlMs, record.taskId, record.submittedAt),
    );
    return existing === null ? undefined : decodeRecord(existing);
  }

  /** One script for the whole batch: atomic, and one round trip. */
  async insertMany(records: readonly TaskRecord[]): Promise<TaskRecord[]> {
    if (records.length === 0) return [];
    const keys: string[] = [this.#ownedKey, this.#indexKey];
    const args: Array<string | number> = [this.#ttlMs];
    for (const record of records) {
      keys.push(this.#recordKey(record.taskId));
      args.push(record.taskId, encodeRecord(record), record.submittedAt);
    }
    const existing = await this.#call(this.#redis.tsInsertMany(keys.length, ...keys, ...args));
    return existing.map(decodeRecord);
  }

  /**
   * Stores a transition. A terminal record that cannot be written now (Redis unreachable) is kept and
   * written when Redis is back — it must get there, or the task would look unfinished forever — so
   * that case resolves; an unfinished one rejects with a StoreUnavailableError.
   */
  async update(record: TaskRecord): Promise<void> {
    try {
      await this.#transition(record);
    } catch (err) {
      if (!(err instanceof StoreUnavailableError) || !isFinished(record.status) || this.#closed) throw err;
      this.#keepUnsaved(record);
    }
  }

  /**
   * One page of the records submitted, newest first, from the index (a sorted set by submission time):
   * walked in batches, newest first, reading the records, until the page is full — or until
   * {@link MAX_LISTED_PER_CALL} index entries were read, when the page may be short and `next` says
   * where to go on. Entries whose record has expired are removed on the way.
   */
  async list(query: TaskQuery): Promise<TaskPage> {
    const page = new PageCollector(query);
    let max: string = query.submittedBefore > 0 ? `(${query.submittedBefore}` : '+inf';
    if (query.cursor && (query.submittedBefore === 0 || query.cursor.submittedAt < query.submittedBefore)) max = String(query.cursor.submittedAt);
    const min = query.submittedAfter > 0 ? String(query.submittedAfter) : '-inf';
    let offset = 0;
    let last: { submittedAt: number; taskId: string } | undefined;
    for (let read = 0; read < MAX_LISTED_PER_CALL; ) {
      const batch = await this.#call(this.#redis.zrevrangebyscore(this.#indexKey, max, min, 'WITHSCORES', 'LIMIT', offset, LIST_BATCH));
      if (batch.length === 0) return page.page();
      const ids = batch.filter((_, i) => i % 2 === 0);
      const values = await this.#call(this.#redis.mget(ids.map((id) => this.#recordKey(id))));
      const gone: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        const value = values[i];
        if (value == null) {
          gone.push(ids[i]!);
          continue;
        }
        const record = decodeRecord(value);
        page.offer(record.submittedAt, record.status, () => record);
        last = { submittedAt: Number(batch[2 * i + 1]), taskId: ids[i]! };
      }
      if (gone.length > 0) await this.#call(this.#redis.zrem(this.#indexKey, ...gone));
      read += ids.length;
      const result = page.page();
      // Newest first: once the page is full and has a next entry, nothing later can enter it.
      if (result.next !== undefined || ids.length < LIST_BATCH) return result;
      offset += ids.length - gone.length;
    }
    const result = page.page();
    return result.records.length >= query.limit || !last ? result : { records: result.records, next: last };
  }

  async delete(taskId: string): Promise<boolean> {
    return (await this.#call(this.#redis.del(this.#recordKey(taskId)))) > 0;
  }

  /**
   * `count` is the number of keys in the Redis database (records plus a few per replica); bytes
   * unknown. While Redis is unreachable: the last count read, so that a metrics scrape still works.
   */
  async stats(): Promise<ResultStoreStats> {
    try {
      this.#lastCount = await this.#redis.dbsize();
    } catch {
      // Down: the outage itself is logged once by the connection watcher.
    }
    return { count: this.#lastCount, bytes: 0 };
  }

  waitForFinish(taskId: string, timeoutMs: number, signal?: AbortSignal): Promise<TaskRecord | undefined> {
    return new Promise<TaskRecord | undefined>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      let over = false;
      let timer: NodeJS.Timeout | undefined;
      const end = () => {
        over = true;
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.#removeWaiter(taskId, waiter);
      };
      const waiter: Waiter = {
        settle: (record) => {
          if (over) return;
          end();
          resolve(record);
        },
        fail: (err) => {
          if (over) return;
          end();
          reject(err as Error);
        },
      };
      const onAbort = () => waiter.fail(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (Number.isFinite(timeoutMs)) {
        timer = setTimeout(() => {
          if (over) return;
          end();
          this.get(taskId).then(resolve, reject);
        }, Math.max(0, timeoutMs));
      }
      // Subscribed first, then read: a finish cannot slip in between.
      this.#addWaiter(taskId, waiter)
        .then(() => this.get(taskId))
        .then((record) => {
          if (!record || isFinished(record.status)) waiter.settle(record);
        }, (err: unknown) => waiter.fail(err));
    });
  }

  async requestCancel(taskId: string): Promise<void> {
    await this.#call(this.#redis.publish(this.#cancelChannel, taskId));
  }

  onCancelRequest(handler: (taskId: string) => void): void {
    this.#cancelHandler = handler;
  }

  onTakeover(handler: (records: TaskRecord[], replica: string) => void): void {
    this.#takeoverHandler = handler;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    for (const entry of this.#waiters.values()) {
      for (const waiter of entry.waiters) waiter.fail(new StoreUnavailableError('the store is closing'));
    }
    if (this.#redis.status === 'ready') {
      // A clean exit. Unstarted tasks the engine left PENDING are still ours: giving up the lease
      // (but staying listed) lets another replica take them over at its next check; with nothing
      // left, the replica leaves the list too.
      try {
        const owned = await this.#redis.scard(this.#ownedKey);
        const exit = this.#redis.multi().del(this.#leaseKey);
        if (owned === 0) exit.srem(this.#replicasKey, this.replicaId);
        await exit.exec();
        if (owned > 0) this.#logger.info('left unstarted tasks to the other replicas', { tasks: owned });
      } catch {
        // Redis went away meanwhile: the lease expires by itself, with the same effect.
      }
    }
    // QUIT only on a working connection; any other is cut (stopping its reconnect attempts).
    await Promise.allSettled([this.#redis, this.#sub].map((connection) => (connection.status === 'ready' ? connection.quit() : connection.disconnect())));
    this.#redis.disconnect();
    this.#sub.disconnect();
  }

  #recordKey(taskId: string): string {
    return `${this.#prefix}t:${taskId}`;
  }

  /**
   * Stores a transition. Refused when the record is terminal already (the first terminal state stays:
   * nothing to do) or, for an unfinished transition, when another replica owns the task now — it took
   * it over after this replica's lease ran out — which throws: this replica must not run it.
   */
  async #transition(record: TaskRecord): Promise<void> {
    const id = record.taskId;
    const current = await this.#call(
      this.#redis.tsTransition(this.#recordKey(id), this.#ownedKey, this.#indexKey, encodeRecord(record), this.#ttlMs, id, this.#doneChannelPrefix + id, record.submittedAt),
    );
    if (current !== null && !isFinished(record.status)) {
      throw new StoreUnavailableError(`task '${clip(id)}' is no longer this replica's (its lease ran out and another replica took the task over)`);
    }
  }

  /** A Redis call whose connection failures become UNAVAILABLE (script errors stay what they are: bugs). */
  async #call<T>(pending: Promise<T>): Promise<T> {
    try {
      return await pending;
    } catch (err) {
      if (err instanceof Error && err.name === 'ReplyError') throw err;
      throw new StoreUnavailableError(`Redis at ${this.#where} did not answer (${this.#why(err)}); retry later`, { cause: err });
    }
  }

  /** Why a call failed: while disconnected, the connection's last error says more than ioredis's own. */
  #why(err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    if (this.#redis.status === 'ready' || !/Stream isn't writeable|Connection is closed/.test(message)) return message;
    return `not connected${this.#lastError ? `: ${this.#lastError}` : ''}`;
  }

  /** The last connection error (refused, timed out, wrong password…), for start-up messages. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  #watch(connection: Redis, role: string): void {
    // ioredis emits 'error' on every failed reconnect: log the outage once, and its end.
    connection.on('error', (err: Error) => {
      this.#lastError = err.message || err.name;
      if (this.#down || this.#closed) return;
      this.#down = true;
      this.#logger.error('Redis unreachable: calls that need it answer UNAVAILABLE until it is back', { where: this.#where, role, err: err.message });
    });
    connection.on('ready', () => {
      if (!this.#down) return;
      this.#down = false;
      this.#logger.warn('Redis is back', { where: this.#where, role });
    });
  }

  /** Keeps a terminal record for the next reconnect; beyond MAX_UNSAVED the oldest are given up. */
  #keepUnsaved(record: TaskRecord): void {
    this.#unsaved.set(record.taskId, record);
    if (this.#unsaved.size <= MAX_UNSAVED) return;
    const oldest = this.#unsaved.keys().next().value!;
    this.#unsaved.delete(oldest);
    if (!this.#droppedUnsaved++) this.#logger.error('too many results waiting for Redis to come back: the oldest are dropped', { limit: MAX_UNSAVED });
  }

  async #onReady(): Promise<void> {
    await this.#renewLease();
    if (this.#unsaved.size === 0) return;
    const pending = [...this.#unsaved.values()];
    this.#logger.warn('writing results that finished while Redis was unreachable', { count: pending.length, dropped: this.#droppedUnsaved });
    this.#droppedUnsaved = 0;
    // In batches of concurrent calls: quick, without flooding Redis.
    for (let i = 0; i < pending.length; i += 500) {
      const batch = pending.slice(i, i + 500);
      const written = await Promise.allSettled(batch.map((record) => this.#transition(record)));
      for (const [j, outcome] of written.entries()) {
        if (outcome.status === 'fulfilled' && this.#unsaved.get(batch[j]!.taskId) === batch[j]) this.#unsaved.delete(batch[j]!.taskId);
      }
      if (written.some((outcome) => outcome.status === 'rejected')) return; // down again: the next 'ready' retries
    }
  }

  async #onSubscriberReady(): Promise<void> {
    try {
      if (!this.#cancelSubscribed) {
        await this.#sub.subscribe(this.#cancelChannel);
        this.#cancelSubscribed = true;
      }
    } catch (err) {
      this.#logger.warn('subscribing to cancel requests failed; retried on reconnect', { err });
    }
    // A finish published while we were disconnected was missed: read what the waiters wait for.
    for (const taskId of [...this.#waiters.keys()]) this.#recheck(taskId, true);
  }

  /**
   * Settles the waiters of `taskId` if it has finished. A missing record (Redis restarted without its
   * data) gets one lease of grace: its owner writes the final record again when it reconnects.
   */
  #recheck(taskId: string, graceForMissing: boolean): void {
    this.get(taskId).then((record) => {
      if (record && !isFinished(record.status)) return;
      if (!record && graceForMissing) {
        setTimeout(() => this.#waiters.has(taskId) && this.#recheck(taskId, false), this.#leaseMs).unref();
        return;
      }
      for (const waiter of [...(this.#waiters.get(taskId)?.waiters ?? [])]) waiter.settle(record);
    }, () => undefined);
  }

  #onMessage(channel: string, message: string): void {
    if (channel === this.#cancelChannel) {
      this.#cancelHandler?.(message);
      return;
    }
    if (!channel.startsWith(this.#doneChannelPrefix)) return;
    const entry = this.#waiters.get(channel.slice(this.#doneChannelPrefix.length));
    if (!entry) return;
    const record = decodeRecord(message);
    for (const waiter of [...entry.waiters]) waiter.settle(record);
  }

  #addWaiter(taskId: string, waiter: Waiter): Promise<unknown> {
    let entry = this.#waiters.get(taskId);
    if (!entry) {
      const subscribed = this.#call(this.#sub.subscribe(this.#doneChannelPrefix + taskId));
      entry = { waiters: new Set(), subscribed };
      this.#waiters.set(taskId, entry);
      // A failed subscription is forgotten so that the next waiter tries again.
      subscribed.catch(() => {
        if (this.#waiters.get(taskId) === entry) this.#waiters.delete(taskId);
      });
    }
    entry.waiters.add(waiter);
    return entry.subscribed;
  }

  #removeWaiter(taskId: string, waiter: Waiter): void {
    const entry = this.#waiters.get(taskId);
    if (!entry || !entry.waiters.delete(waiter) || entry.waiters.size > 0) return;
    this.#waiters.delete(taskId);
    if (this.#sub.status === 'ready') this.#sub.unsubscribe(this.#doneChannelPrefix + taskId).catch(() => undefined);
  }

  async #renewLease(): Promise<void> {
    if (this.#closed || this.#redis.status !== 'ready') return;
    try {
      const held = await this.#redis.tsRenew(this.#leaseKey, this.#replicasKey, this.#leaseMs, this.replicaId);
      if (held === 0 && this.#leased) {
        // Redis was unreachable (or this process stalled) for longer than a lease: another replica may
        // have failed our unfinished tasks; their own finishes are then refused (terminal is final).
        this.#logger.error('this replica\'s lease ran out before it was renewed: its unfinished tasks may have been failed as lost', { replica: this.replicaId, leaseMs: this.#leaseMs });
      }
      this.#leased = true;
    } catch (err) {
      this.#logger.warn('renewing the replica lease failed', { err: err instanceof Error ? err.message : String(err) });
    }
  }

  async #reap(): Promise<void> {
    if (this.#closed || this.#redis.status !== 'ready') return;
    this.#redis.tsSweepIndex(this.#indexKey, this.#prefix, SWEEP_INDEX_COUNT).catch(() => undefined);
    try {
      const lost = await this.#redis.tsReap(this.#replicasKey, this.#prefix, Date.now(), this.#ttlMs, this.replicaId, StatusCode.ABORTED);
      for (let i = 0; i + 2 < lost.length; ) {
        const replica = String(lost[i]);
        const failed = Number(lost[i + 1]);
        const taken = Number(lost[i + 2]);
        const records = lost.slice(i + 3, i + 3 + taken).map((value) => decodeRecord(String(value)));
        i += 3 + taken;
        this.#logger.warn('replica lost: its tasks that can run again are taken over here, the others are FAILED', { replica, takenOver: taken, failed });
        if (records.length > 0) this.#takeoverHandler?.(records, replica);
      }
    } catch (err) {
      this.#logger.warn('checking for lost replicas failed', { err: err instanceof Error ? err.message : String(err) });
    }
  }
}
