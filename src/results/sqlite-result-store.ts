import { mkdirSync } from 'node:fs';
import { SqliteScheduleStore, type ScheduleStore } from '../scheduling/schedule-store';
import path from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { StoreUnavailableError } from '../errors';
import { silentLogger, type Logger } from '../logging/logger';
import { recordFromJson, recordToJson } from './record-json';
import type { ResultStore, ResultStoreStats } from './result-store';
import type { TaskPage, TaskQuery } from './task-query';
import { checkStoreFile, migrate, probeSchema, STATUS_CODES } from './sqlite-schema';
import { isFinished, type TaskRecord } from './task-record';

/** Settings of a {@link SqliteResultStore}. */
export interface SqliteResultStoreOptions {
  /** The database file (created, with its directory, when missing). */
  readonly path: string;
  /** Time to live of a finished record, ms; 0 = no expiry. */
  readonly ttlMs: number;
  /** Most finished records kept (the oldest finished are evicted first). */
  readonly maxCount: number;
  /** Most bytes of finished records kept (their JSON as stored). */
  readonly maxBytes: number;
  /**
   * `normal`: a commit survives the process crashing (WAL, no fsync per commit); `full`: it also
   * survives the machine losing power (an fsync per commit).
   */
  readonly synchronous: 'normal' | 'full';
  /** How often expired records are purged, ms; default min(ttl/10, 5 s), at least 250 ms. */
  readonly purgeIntervalMs?: number;
  readonly logger?: Logger;
}

/** The store cannot be opened: the message names the path and the reason (the CLI prints it and exits 1). */
export class StoreOpenError extends Error {
  constructor(file: string, why: string, options?: { cause?: unknown }) {
    super(`cannot open the SQLite store ${file}: ${why}`, options);
    this.name = 'StoreOpenError';
  }
}

/** Most terminal records kept in memory while the database refuses writes (disk full, I/O error). */
const MAX_UNSAVED = 100_000;
/** How often writes refused by the database are tried again, ms. */
const RETRY_UNSAVED_MS = 1_000;
/** Finished rows dropped per statement when evicting or purging. */
const DELETE_BATCH = 1_000;

type Op =
  | { readonly kind: 'insert'; readonly record: TaskRecord; readonly resolve: (existing: TaskRecord | undefined) => void; readonly reject: (err: unknown) => void }
  | { readonly kind: 'insertMany'; readonly records: readonly TaskRecord[]; readonly resolve: (existing: TaskRecord[]) => void; readonly reject: (err: unknown) => void }
  | { readonly kind: 'update'; readonly record: TaskRecord; readonly resolve: () => void; readonly reject: (err: unknown) => void }
  | { readonly kind: 'delete'; readonly taskId: string; readonly resolve: (found: boolean) => void; readonly reject: (err: unknown) => void };

interface Row {
  readonly finished_at: number | null;
  readonly bytes: number;
  readonly record: string;
}

/**
 * Task records in an embedded SQLite database (better-sqlite3), so that accepted work and results
 * survive a crash or a restart. WAL journal, and group commit: the writes asked for during one turn
 * of the event loop are committed together in one transaction on the next (`setImmediate`), and
 * each caller's promise settles only once its write is committed — a detached task is acknowledged
 * after its record is durable.
 *
 * The file is locked for this process (`locking_mode = EXCLUSIVE`): a second server on the same file
 * is refused at start. Finished records obey the TTL and the count and byte bounds as the memory
 * store's do (oldest finished first). When the database refuses a write (disk full, I/O error), an
 * insert or an unfinished transition fails with UNAVAILABLE `Result store unavailable: …`; a terminal
 * record is kept in memory (readable) and written when the database takes writes again.
 */
export class SqliteResultStore implements ResultStore {
  readonly durable = true;
  readonly path: string;
  readonly #db: Database;
  readonly schedules: ScheduleStore;
  readonly #ttlMs: number;
  readonly #maxCount: number;
  readonly #maxBytes: number;
  readonly #logger: Logger;
  readonly #select: Statement<[string], Row>;
  readonly #upsert: Statement<[string, number, string, number, number | null, number, string]>;
  readonly #deleteOne: Statement<[string], { finished_at: number | null; bytes: number }>;
  readonly #evict: Statement<[number], { bytes: number }>;
  readonly #purge: Statement<[number, number], { bytes: number }>;
  readonly #unfinishedRows: Statement<[], { record: string }>;
  /** Listing statements by their SQL (one per combination of filters used). */
  readonly #listings = new Map<string, Statement<unknown[], { record: string }>>();
  readonly #commit: (ops: readonly Op[]) => unknown[];
  readonly #timers: NodeJS.Timeout[] = [];
  /** Terminal records whose write the database refused: readable here, written again later. */
  readonly #unsaved = new Map<string, TaskRecord>();
  #queue: Op[] = [];
  #flushScheduled = false;
  /** Finished rows and their bytes, kept in step with every write (loaded at open). */
  #count = 0;
  #bytes = 0;
  #failing: string | undefined;
  #droppedUnsaved = 0;
  #closed = false;

  /** Opens (creating or migrating) the database; throws a {@link StoreOpenError} naming the path and the reason. */
  constructor(options: SqliteResultStoreOptions) {
    if (!(options.maxCount >= 1) || !(options.maxBytes >= 1) || !(options.ttlMs >= 0)) {
      throw new RangeError(`invalid result store bounds: ${JSON.stringify({ maxCount: options.maxCount, maxBytes: options.maxBytes, ttlMs: options.ttlMs })}`);
    }
    this.path = path.resolve(options.path);
    this.#ttlMs = options.ttlMs;
    this.#maxCount = options.maxCount;
    this.#maxBytes = options.maxBytes;
    this.#logger = (options.logger ?? silentLogger).child({ component: 'sqlite-store' });
    this.#db = openDatabase(this.path, options.synchronous);
    const db = this.#db;
    this.#select = db.prepare('SELECT finished_at, bytes, record FROM tasks WHERE id = ?');
    this.#upsert = db.prepare(
      `INSERT INTO tasks (id, status, method, submitted_at, finished_at, bytes, record) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET status = excluded.status, method = excluded.method, submitted_at = excluded.submitted_at,
         finished_at = excluded.finished_at, bytes = excluded.bytes, record = excluded.record`,
    );
    this.#deleteOne = db.prepare('DELETE FROM tasks WHERE id = ? RETURNING finished_at, bytes');
    this.#evict = db.prepare('DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT ?) RETURNING bytes');
    this.#purge = db.prepare(
      'DELETE FROM tasks WHERE id IN (SELECT id FROM tasks WHERE finished_at IS NOT NULL AND finished_at <= ? ORDER BY finished_at LIMIT ?) RETURNING bytes',
    );
    this.#unfinishedRows = db.prepare('SELECT record FROM tasks WHERE finished_at IS NULL');
    let totals: { n: number; b: number };
    try {
      totals = db.prepare('SELECT count(*) AS n, coalesce(sum(bytes), 0) AS b FROM tasks WHERE finished_at IS NOT NULL').get() as { n: number; b: number };
    } catch (err) {
      db.close();
      throw new StoreOpenError(this.path, whyNotOpened(err), { cause: err });
    }
    this.#count = totals.n;
    this.#bytes = totals.b;
    this.schedules = new SqliteScheduleStore(db);
    this.#commit = db.transaction((ops: readonly Op[]) => this.#apply(ops));
    if (options.ttlMs > 0) {
      const every = options.purgeIntervalMs ?? Math.max(250, Math.min(options.ttlMs / 10, 5000));
      this.#timers.push(setInterval(() => this.#purgeExpired(), every));
    }
    this.#timers.push(setInterval(() => this.#unsaved.size > 0 && this.#scheduleFlush(), RETRY_UNSAVED_MS));
    for (const timer of this.#timers) timer.unref();
    // Finished records past their TTL (or over the bounds) while the server was down go now.
    this.#purgeExpired();
  }

  get(taskId: string): Promise<TaskRecord | undefined> {
    const unsaved = this.#unsaved.get(taskId);
    if (unsaved) return Promise.resolve(unsaved);
    try {
      const row = this.#select.get(taskId);
      return Promise.resolve(row && !this.#expired(row.finished_at, Date.now()) ? recordFromJson(row.record) : undefined);
    } catch (err) {
      return Promise.reject(this.#unavailable(err));
    }
  }

  async getMany(taskIds: readonly string[]): Promise<Array<TaskRecord | undefined>> {
    return Promise.all(taskIds.map((taskId) => this.get(taskId)));
  }

  insert(record: TaskRecord): Promise<TaskRecord | undefined> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'insert', record, resolve, reject }));
  }

  /** A batch joins the group commit as one op: checked and written inside the same transaction. */
  insertMany(records: readonly TaskRecord[]): Promise<TaskRecord[]> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'insertMany', records, resolve, reject }));
  }

  update(record: TaskRecord): Promise<void> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'update', record, resolve, reject }));
  }

  delete(taskId: string): Promise<boolean> {
    return new Promise((resolve, reject) => this.#enqueue({ kind: 'delete', taskId, resolve, reject }));
  }

  stats(): Promise<ResultStoreStats> {
    return Promise.resolve({ count: this.#count, bytes: this.#bytes });
  }

  /** One page of the records submitted, newest first, from the index on submission time. */
  list(query: TaskQuery): Promise<TaskPage> {
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.statuses.length > 0) {
      where.push(`status IN (${query.statuses.map(() => '?').join(', ')})`);
      params.push(...query.statuses.map((status) => STATUS_CODES[status]));
    }
    if (query.method !== '') {
      where.push('method = ?');
      params.push(query.method);
    }
    if (query.idPrefix !== '') {
      where.push('substr(id, 1, ?) = ?');
      params.push(query.idPrefix.length, query.idPrefix);
    }
    if (query.submittedAfter > 0) {
      where.push('submitted_at >= ?');
      params.push(query.submittedAfter);
    }
    if (query.submittedBefore > 0) {
      where.push('submitted_at < ?');
      params.push(query.submittedBefore);
    }
    if (query.cursor) {
      where.push('(submitted_at < ? OR (submitted_at = ? AND id < ?))');
      params.push(query.cursor.submittedAt, query.cursor.submittedAt, query.cursor.taskId);
    }
    if (this.#ttlMs > 0) {
      where.push('(finished_at IS NULL OR finished_at > ?)');
      params.push(Date.now() - this.#ttlMs);
    }
    const sql = `SELECT record FROM tasks ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY submitted_at DESC, id DESC LIMIT ?`;
    params.push(query.limit + 1);
    try {
      let statement = this.#listings.get(sql);
      if (!statement) {
        statement = this.#db.prepare<unknown[], { record: string }>(sql);
        this.#listings.set(sql, statement);
      }
      const rows = statement.all(...params).map((row) => recordFromJson(row.record));
      const records = rows.slice(0, query.limit);
      const last = records[records.length - 1];
      return Promise.resolve({ records, next: rows.length > query.limit && last ? { submittedAt: last.submittedAt, taskId: last.taskId } : undefined });
    } catch (err) {
      return Promise.reject(this.#unavailable(err));
    }
  }

  /**
   * Every unfinished record (with its spec), for recovery at start; a {@link StoreOpenError} when they
   * cannot be read (a store whose accepted tasks cannot be recovered is not served).
   */
  unfinished(): Promise<TaskRecord[]> {
    try {
      return Promise.resolve(this.#unfinishedRows.all().map((row) => recordFromJson(row.record)));
    } catch (err) {
      return Promise.reject(new StoreOpenError(this.path, whyNotOpened(err), { cause: err }));
    }
  }

  /** Commits what is queued (a last try for records the database refused), then closes the file. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    for (const timer of this.#timers) clearInterval(timer);
    this.#flush();
    this.#closed = true;
    if (this.#unsaved.size > 0) this.#logger.error('closing with results the database refused: they are lost', { count: this.#unsaved.size, path: this.path });
    this.#db.close();
    return Promise.resolve();
  }

  #expired(finishedAt: number | null, now: number): boolean {
    return finishedAt !== null && this.#ttlMs > 0 && finishedAt + this.#ttlMs <= now;
  }

  #enqueue(op: Op): void {
    if (this.#closed) {
      op.reject(new StoreUnavailableError(`SQLite store ${this.path} is closed`));
      return;
    }
    this.#queue.push(op);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Commits every queued write in one transaction, then settles their promises. */
  #flush(): void {
    this.#flushScheduled = false;
    const ops = this.#queue;
    this.#queue = [];
    if (ops.length === 0 && this.#unsaved.size === 0) return;
    let results: unknown[];
    try {
      results = this.#commit(ops);
    } catch (err) {
      this.#refused(ops, err);
      return;
    }
    if (this.#failing !== undefined) {
      this.#logger.warn('the SQLite store takes writes again', { path: this.path, resultsWritten: this.#unsaved.size, resultsDropped: this.#droppedUnsaved });
      this.#failing = undefined;
      this.#droppedUnsaved = 0;
    }
    this.#unsaved.clear();
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      // The result of each op, computed inside the committed transaction.
      (op.resolve as (value: unknown) => void)(results[i]);
    }
  }

  /** Runs inside the transaction: earlier refused terminal records first, then the batch, then eviction. */
  #apply(ops: readonly Op[]): unknown[] {
    for (const record of this.#unsaved.values()) this.#write(record);
    const now = Date.now();
    const results = ops.map((op) => {
      switch (op.kind) {
        case 'insert': {
          const row = this.#select.get(op.record.taskId);
          if (row && !this.#expired(row.finished_at, now)) return recordFromJson(row.record);
          this.#write(op.record, row);
          return undefined;
        }
        case 'insertMany': {
          const existing: TaskRecord[] = [];
          const rows = op.records.map((record) => this.#select.get(record.taskId));
          for (const row of rows) if (row && !this.#expired(row.finished_at, now)) existing.push(recordFromJson(row.record));
          if (existing.length === 0) op.records.forEach((record, i) => this.#write(record, rows[i]));
          return existing;
        }
        case 'update':
          this.#write(op.record);
          return undefined;
        case 'delete': {
          const gone = this.#deleteOne.get(op.taskId);
          if (gone?.finished_at != null) this.#forget(gone.bytes);
          return gone !== undefined;
        }
      }
    });
    this.#evictBeyondBounds();
    return results;
  }

  /** Writes a record over any row of its id, keeping the finished count and bytes in step. */
  #write(record: TaskRecord, known?: Pick<Row, 'finished_at' | 'bytes'>): void {
    const before = known ?? this.#select.get(record.taskId);
    if (before?.finished_at != null) this.#forget(before.bytes);
    const json = recordToJson(record);
    const bytes = Buffer.byteLength(json, 'utf8');
    const finishedAt = isFinished(record.status) ? (record.finishedAt ?? Date.now()) : null;
    this.#upsert.run(record.taskId, STATUS_CODES[record.status], record.method, record.submittedAt, finishedAt, bytes, json);
    if (finishedAt !== null) {
      this.#count++;
      this.#bytes += bytes;
    }
  }

  #forget(bytes: number): void {
    this.#count--;
    this.#bytes -= bytes;
  }

  #evictBeyondBounds(): void {
    while (this.#count > this.#maxCount || this.#bytes > this.#maxBytes) {
      const over = Math.max(1, this.#count - this.#maxCount);
      const evicted = this.#evict.all(Math.min(DELETE_BATCH, over));
      if (evicted.length === 0) return;
      for (const row of evicted) this.#forget(row.bytes);
    }
  }

  #purgeExpired(): void {
    if (this.#closed) return;
    try {
      this.#db.transaction(() => {
        if (this.#ttlMs > 0) {
          const before = Date.now() - this.#ttlMs;
          for (;;) {
            const purged = this.#purge.all(before, DELETE_BATCH);
            for (const row of purged) this.#forget(row.bytes);
            if (purged.length < DELETE_BATCH) break;
          }
        }
        this.#evictBeyondBounds();
      })();
    } catch (err) {
      this.#logger.warn('purging expired results failed; tried again later', { path: this.path, err: describe(err) });
    }
  }

  /**
   * The database refused a batch (nothing of it was written): inserts, unfinished transitions and
   * deletes fail UNAVAILABLE; terminal records are kept to be written later (they must get there, or
   * their tasks would look unfinished forever), beyond MAX_UNSAVED the oldest are given up.
   */
  #refused(ops: readonly Op[], err: unknown): void {
    const error = this.#unavailable(err);
    if (this.#failing === undefined) {
      this.#failing = error.message;
      this.#logger.error('the SQLite store refuses writes: submissions answer UNAVAILABLE until it takes them again; reads go on', { path: this.path, err: describe(err) });
    }
    for (const op of ops) {
      if (op.kind === 'update' && isFinished(op.record.status)) {
        this.#keepUnsaved(op.record);
        op.resolve();
      } else {
        op.reject(error);
      }
    }
  }

  #keepUnsaved(record: TaskRecord): void {
    this.#unsaved.set(record.taskId, record);
    if (this.#unsaved.size <= MAX_UNSAVED) return;
    this.#unsaved.delete(this.#unsaved.keys().next().value!);
    if (!this.#droppedUnsaved++) this.#logger.error('too many results waiting for the database to take writes: the oldest are dropped', { limit: MAX_UNSAVED });
  }

  #unavailable(err: unknown): StoreUnavailableError {
    return new StoreUnavailableError(`SQLite store ${this.path}: ${describe(err)}`, { cause: err });
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return (err as { code?: string }).code ? `${err.message} (${(err as { code?: string }).code})` : err.message;
  return String(err);
}

/** Opens the file with the store's settings, or throws a {@link StoreOpenError} saying why. */
function openDatabase(file: string, synchronous: 'normal' | 'full'): Database {
  let db: Database | undefined;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    // timeout 0: a file locked by another server is refused at once, not waited for.
    db = new BetterSqlite3(file, { timeout: 0 });
    // The exclusive lock is taken by the first write and held until close: one server per file.
    db.pragma('locking_mode = EXCLUSIVE');
    // Whose file is it? Asked before anything is written (the journal mode is kept in the file): a file
    // we refuse — another program's, a newer server's — is left as it was.
    checkStoreFile(db);
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (mode !== 'wal') throw new Error(`it cannot use a write-ahead log here (journal mode stays ${String(mode)})`);
    db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('cache_size = -65536'); // 64 MiB of page cache
    db.exec('BEGIN EXCLUSIVE; COMMIT');
    migrate(db);
    probeSchema(db);
    return db;
  } catch (err) {
    db?.close();
    throw new StoreOpenError(file, whyNotOpened(err), { cause: err });
  }
}

function whyNotOpened(err: unknown): string {
  const code = (err as { code?: string } | null)?.code;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return 'it is locked by another process (is another task-scheduler running on it?)';
  if (code === 'SQLITE_NOTADB') return 'it is not a SQLite database';
  if (code === 'SQLITE_CORRUPT') return 'the database is corrupt';
  if (code === 'SQLITE_CANTOPEN') return 'it cannot be opened (check the path and its permissions)';
  if (code === 'SQLITE_READONLY') return 'it is read-only';
  return err instanceof Error ? err.message : String(err);
}
