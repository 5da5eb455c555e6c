import type { Database, Statement } from 'better-sqlite3';

/** What happens to fires missed while no server ran: dropped, or one task for the latest of them. */
export type MissedFirePolicy = 'skip' | 'run_once';

/** A recurring schedule as stored. */
export interface StoredSchedule {
  /** 1-128 characters of [A-Za-z0-9_.-]. */
  readonly name: string;
  /** A cron expression (5 or 6 fields) as croner reads it. */
  readonly cron: string;
  /** IANA zone; '' = UTC. */
  readonly timeZone: string;
  /** The task each fire submits: an encoded `TaskRequest`, base64. */
  readonly template: string;
  readonly missedFire: MissedFirePolicy;
  /** Epoch ms of the latest fire submitted; 0 = none yet. */
  readonly lastFireAt: number;
}

/**
 * Where schedules live: the process (memory store: until restart), the SQLite file, or Redis (shared
 * by the replicas). Each replica reads the list again every few seconds, so a schedule created on one
 * replica fires from all of them; fire ids make a fire run at most once (see `schedule-runner.ts`).
 */
export interface ScheduleStore {
  list(): Promise<StoredSchedule[]>;
  /** Creates or replaces the schedule of that name. */
  put(schedule: StoredSchedule): Promise<void>;
  /** Whether it was there. */
  delete(name: string): Promise<boolean>;
  /** Records a fire; keeps the later one when replicas race. */
  fired(name: string, at: number): Promise<void>;
}

export class MemoryScheduleStore implements ScheduleStore {
  readonly #schedules = new Map<string, StoredSchedule>();

  list(): Promise<StoredSchedule[]> {
    return Promise.resolve([...this.#schedules.values()]);
  }

  put(schedule: StoredSchedule): Promise<void> {
    this.#schedules.set(schedule.name, schedule);
    return Promise.resolve();
  }

  delete(name: string): Promise<boolean> {
    return Promise.resolve(this.#schedules.delete(name));
  }

  fired(name: string, at: number): Promise<void> {
    const schedule = this.#schedules.get(name);
    if (schedule && schedule.lastFireAt < at) this.#schedules.set(name, { ...schedule, lastFireAt: at });
    return Promise.resolve();
  }
}

/** Schedules in the SQLite store's file (table `schedules`, migration 2 in `sqlite-schema.ts`). */
export class SqliteScheduleStore implements ScheduleStore {
  readonly #all: Statement<[], { record: string; last_fire_at: number }>;
  readonly #put: Statement<[string, string]>;
  readonly #delete: Statement<[string]>;
  readonly #fired: Statement<[number, string, number]>;

  constructor(db: Database) {
    this.#all = db.prepare('SELECT record, last_fire_at FROM schedules ORDER BY name');
    this.#put = db.prepare('INSERT INTO schedules (name, record, last_fire_at) VALUES (?, ?, 0) ON CONFLICT (name) DO UPDATE SET record = excluded.record');
    this.#delete = db.prepare('DELETE FROM schedules WHERE name = ?');
    this.#fired = db.prepare('UPDATE schedules SET last_fire_at = ? WHERE name = ? AND last_fire_at < ?');
  }

  list(): Promise<StoredSchedule[]> {
    return attempt(() => this.#all.all().map((row) => ({ ...(JSON.parse(row.record) as StoredSchedule), lastFireAt: row.last_fire_at })));
  }

  put(schedule: StoredSchedule): Promise<void> {
    return attempt(() => void this.#put.run(schedule.name, JSON.stringify({ ...schedule, lastFireAt: 0 })));
  }

  delete(name: string): Promise<boolean> {
    return attempt(() => this.#delete.run(name).changes > 0);
  }

  fired(name: string, at: number): Promise<void> {
    return attempt(() => void this.#fired.run(at, name, at));
  }
}

function attempt<T>(call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}
