import { Cron } from 'croner';
import { InvalidArgumentsError, clip } from '../errors';
import type { Logger } from '../logging/logger';
import type { ScheduleStore, StoredSchedule } from './schedule-store';

/** Schedule names: safe in task ids and console commands. */
const VALID_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** How often each replica reads the schedule list again (schedules made or deleted on another replica). */
export const DEFAULT_SCHEDULE_SYNC_MS = 2_000;
/** Most schedules one server keeps (each holds a timer). */
export const MAX_SCHEDULES = 10_000;
/** Longest walk through missed fires to find the latest one (a per-second cron missed for a day is 86 400). */
const MAX_MISSED_STEPS = 1_000_000;

/** A schedule with its next fire, as listed. */
export interface ScheduleInfo extends StoredSchedule {
  /** Epoch ms; 0 when the expression fires no more. */
  readonly nextFireAt: number;
}

/** The task id of one fire: the same on every replica, so the store's atomic insert lets one run. */
export function fireTaskId(name: string, at: number): string {
  return `${name}@${new Date(at).toISOString()}`;
}

/** The cron of a schedule; throws INVALID_ARGUMENT naming the field and the rule. */
export function parseSchedule(name: string, cron: string, timeZone: string): Cron {
  if (!VALID_NAME.test(name)) throw new InvalidArgumentsError(`schedule name '${clip(name)}' must be 1-128 characters of A-Z a-z 0-9 _ . -`);
  if (timeZone !== '') {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      throw new InvalidArgumentsError(`time_zone '${clip(timeZone)}' is not a known IANA time zone (e.g. "Europe/Berlin"; empty = UTC)`);
    }
  }
  let parsed: Cron;
  try {
    parsed = new Cron(cron, { timezone: timeZone || 'UTC', paused: true });
  } catch (err) {
    throw new InvalidArgumentsError(`cron '${clip(cron)}' is not a valid cron expression (5 fields, or 6 with seconds first): ${err instanceof Error ? err.message : String(err)}`);
  }
  if (parsed.nextRun() === null) throw new InvalidArgumentsError(`cron '${clip(cron)}' never fires again`);
  return parsed;
}

interface Armed {
  readonly schedule: StoredSchedule;
  readonly cron: Cron;
  timer: NodeJS.Timeout | undefined;
  nextAt: number;
  lastFireAt: number;
}

/**
 * Fires recurring schedules: a timer per schedule, set to the next time its cron expression matches
 * (croner, in the schedule's time zone). Each fire submits the schedule's task with the id
 * {@link fireTaskId}: every replica fires every schedule, and the store's atomic insert of that id lets
 * exactly one task exist per fire (at most once; on the memory store, per process).
 *
 * Fires missed while no server ran (from the stored last fire to now): `skip` drops them; `run_once`
 * submits one task for the latest of them at start.
 */
export class ScheduleRunner {
  readonly #store: ScheduleStore;
  readonly #fire: (schedule: StoredSchedule, at: number) => Promise<void>;
  readonly #logger: Logger;
  readonly #syncMs: number;
  readonly #armed = new Map<string, Armed>();
  #sync: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(deps: { store: ScheduleStore; fire: (schedule: StoredSchedule, at: number) => Promise<void>; logger: Logger; syncMs?: number }) {
    this.#store = deps.store;
    this.#fire = deps.fire;
    this.#logger = deps.logger.child({ component: 'schedules' });
    this.#syncMs = deps.syncMs ?? DEFAULT_SCHEDULE_SYNC_MS;
  }

  /** Loads the stored schedules (catching up missed fires as each one's policy says) and keeps them in sync. */
  async start(): Promise<void> {
    let loaded = false;
    try {
      await this.#load(true);
      loaded = true;
    } catch (err) {
      // The store is unreachable for now (Redis down): the sync below loads them when it is back.
      this.#logger.warn('reading the schedules failed; retrying', { err });
    }
    this.#sync = setInterval(() => {
      this.#load(!loaded).then(() => (loaded = true)).catch((err: unknown) => this.#logger.warn('reading the schedules failed; retrying', { err }));
    }, this.#syncMs);
    this.#sync.unref();
  }

  async create(schedule: StoredSchedule): Promise<ScheduleInfo> {
    const cron = parseSchedule(schedule.name, schedule.cron, schedule.timeZone);
    if (!this.#armed.has(schedule.name) && this.#armed.size >= MAX_SCHEDULES) throw new InvalidArgumentsError(`${MAX_SCHEDULES} schedules exist: delete one first`);
    const fresh = { ...schedule, lastFireAt: 0 };
    await this.#store.put(fresh);
    this.#arm(fresh, cron, false);
    return this.#info(this.#armed.get(schedule.name)!);
  }

  async delete(name: string): Promise<boolean> {
    const deleted = await this.#store.delete(name);
    const local = this.#disarm(name);
    return deleted || local;
  }

  list(): ScheduleInfo[] {
    return [...this.#armed.values()].map((armed) => this.#info(armed)).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#sync);
    for (const name of [...this.#armed.keys()]) this.#disarm(name);
  }

  #info(armed: Armed): ScheduleInfo {
    return { ...armed.schedule, lastFireAt: armed.lastFireAt, nextFireAt: armed.nextAt };
  }

  async #load(atStart: boolean): Promise<void> {
    const stored = await this.#store.list();
    if (this.#closed) return;
    const seen = new Set<string>();
    for (const schedule of stored) {
      seen.add(schedule.name);
      const armed = this.#armed.get(schedule.name);
      if (armed && sameDefinition(armed.schedule, schedule)) {
        if (schedule.lastFireAt > armed.lastFireAt) armed.lastFireAt = schedule.lastFireAt;
        continue;
      }
      let cron: Cron;
      try {
        cron = parseSchedule(schedule.name, schedule.cron, schedule.timeZone);
      } catch (err) {
        this.#logger.error('a stored schedule cannot be read; it does not fire', { schedule: schedule.name, err });
        continue;
      }
      this.#arm(schedule, cron, atStart);
    }
    for (const name of [...this.#armed.keys()]) if (!seen.has(name)) this.#disarm(name);
  }

  #arm(schedule: StoredSchedule, cron: Cron, atStart: boolean): void {
    this.#disarm(schedule.name);
    const now = Date.now();
    const armed: Armed = { schedule, cron, timer: undefined, nextAt: 0, lastFireAt: schedule.lastFireAt };
    this.#armed.set(schedule.name, armed);
    if (atStart && schedule.missedFire === 'run_once' && schedule.lastFireAt > 0) {
      const missed = latestMissed(cron, schedule.lastFireAt, now);
      if (missed !== undefined) void this.#fireAt(armed, missed);
    }
    this.#next(armed, Math.max(now, armed.lastFireAt));
  }

  /** Sets the timer for the first fire after `after`. */
  #next(armed: Armed, after: number): void {
    const next = armed.cron.nextRun(new Date(after));
    if (!next || this.#closed) {
      armed.nextAt = 0;
      return;
    }
    armed.nextAt = next.getTime();
    const wake = (): void => {
      const wait = armed.nextAt - Date.now();
      if (wait > 0) {
        armed.timer = setTimeout(wake, Math.min(wait, 0x7fffffff));
        armed.timer.unref();
        return;
      }
      const at = armed.nextAt;
      void this.#fireAt(armed, at);
      if (this.#armed.get(armed.schedule.name) === armed) this.#next(armed, at);
    };
    wake();
  }

  async #fireAt(armed: Armed, at: number): Promise<void> {
    if (at > armed.lastFireAt) armed.lastFireAt = at;
    try {
      await this.#fire(armed.schedule, at);
      await this.#store.fired(armed.schedule.name, at);
    } catch (err) {
      this.#logger.warn('a schedule fire was not submitted', { schedule: armed.schedule.name, at: new Date(at).toISOString(), err });
    }
  }

  #disarm(name: string): boolean {
    const armed = this.#armed.get(name);
    if (!armed) return false;
    clearTimeout(armed.timer);
    this.#armed.delete(name);
    return true;
  }
}

function sameDefinition(a: StoredSchedule, b: StoredSchedule): boolean {
  return a.cron === b.cron && a.timeZone === b.timeZone && a.template === b.template && a.missedFire === b.missedFire;
}

/** The latest fire time in (after, now], if any. */
function latestMissed(cron: Cron, after: number, now: number): number | undefined {
  let latest: number | undefined;
  let from = new Date(after);
  for (let step = 0; step < MAX_MISSED_STEPS; step++) {
    const next = cron.nextRun(from);
    if (!next || next.getTime() > now) break;
    latest = next.getTime();
    from = next;
  }
  return latest;
}
