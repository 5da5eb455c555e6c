import type { Database } from 'better-sqlite3';

/**
 * The SQLite store's schema, versioned with `PRAGMA user_version`: migration i takes a database from
 * version i to i + 1, in one transaction. A database written by a newer server (a version this one
 * does not know) is refused rather than guessed at. `application_id` marks the file as ours, so a
 * SQLite file of another program is refused too.
 */

/** `PRAGMA application_id` of our databases: 'TSCH'. */
export const APPLICATION_ID = 0x54534348;

/** Status codes of the `status` column (the record's JSON holds the names). */
export const STATUS_CODES = { PENDING: 0, RUNNING: 1, SUCCESS: 2, FAILED: 3, CANCELLED: 4 } as const;

const MIGRATIONS: ReadonlyArray<(db: Database) => void> = [
  // 1: one row per task. `record` is the TaskRecord as JSON (with its spec while unfinished);
  // `finished_at` is set on terminal rows only, which TTL and eviction walk oldest first;
  // `bytes` is the record's UTF-8 size, for the --max-result-bytes bound without reading records.
  (db) => {
    db.exec(`
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY NOT NULL,
        status INTEGER NOT NULL,
        method TEXT NOT NULL,
        submitted_at INTEGER NOT NULL,
        finished_at INTEGER,
        bytes INTEGER NOT NULL,
        record TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX tasks_finished ON tasks (finished_at, bytes) WHERE finished_at IS NOT NULL;
      CREATE INDEX tasks_unfinished ON tasks (id) WHERE finished_at IS NULL;
      CREATE INDEX tasks_submitted ON tasks (submitted_at);
    `);
  },
  // 2: recurring schedules (src/scheduling/schedule-store.ts): the schedule as JSON, and when it last
  // fired (kept apart so recording a fire does not rewrite the schedule).
  (db) => {
    db.exec(`
      CREATE TABLE schedules (
        name TEXT PRIMARY KEY NOT NULL,
        record TEXT NOT NULL,
        last_fire_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `);
  },
];

/** The schema version this server writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Throws an Error saying why when the file is not ours (another program's database) or is newer than
 * this server; returns its schema version otherwise. Only reads: call it before anything is written,
 * so that a file we refuse is left exactly as it was.
 */
export function checkStoreFile(db: Database): number {
  const applicationId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (applicationId !== APPLICATION_ID) {
    const tables = db.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE type = 'table'").get() as { n: number };
    if (applicationId !== 0 || tables.n > 0) throw new Error('it is a SQLite database of another program (not a task-scheduler store)');
  }
  if (version > SCHEMA_VERSION) {
    throw new Error(`it was written by a newer task-scheduler (schema version ${version}; this one knows up to ${SCHEMA_VERSION}): upgrade the server, or use another file`);
  }
  return version;
}

/**
 * Brings `db` to {@link SCHEMA_VERSION}. Throws an Error saying why when the file is not ours or is
 * newer than this server.
 */
export function migrate(db: Database): void {
  const version = checkStoreFile(db);
  for (let next = version; next < SCHEMA_VERSION; next++) {
    db.transaction(() => {
      MIGRATIONS[next]!(db);
      db.pragma(`user_version = ${next + 1}`);
      db.pragma(`application_id = ${APPLICATION_ID}`);
    })();
  }
}

/**
 * Reads the first page or two of the table and of each index (the roots and a first leaf): a database
 * damaged there — which would fail every later call — is refused at start (SQLITE_CORRUPT). Damage
 * further in is only found when a call reads it (that call answers UNAVAILABLE); `PRAGMA quick_check`
 * would find it all, but reads the whole file (seconds for a large store) at every start.
 */
export function probeSchema(db: Database): void {
  db.prepare('SELECT record FROM tasks LIMIT 1').all();
  db.prepare('SELECT finished_at FROM tasks INDEXED BY tasks_finished WHERE finished_at IS NOT NULL ORDER BY finished_at LIMIT 1').all();
  db.prepare('SELECT id FROM tasks INDEXED BY tasks_unfinished WHERE finished_at IS NULL ORDER BY id LIMIT 1').all();
  db.prepare('SELECT submitted_at FROM tasks INDEXED BY tasks_submitted ORDER BY submitted_at LIMIT 1').all();
}
