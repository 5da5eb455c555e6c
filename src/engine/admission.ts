import { TooManyTasksError } from '../errors';

/** The bounds on accepted, unfinished work (0 = unlimited). */
export interface AdmissionLimits {
  /** Most tasks waiting for a concurrency slot (`--max-queued-tasks`). */
  readonly maxQueuedTasks: number;
  /** Most tasks waiting for unfinished dependencies (`--max-dependent-tasks`). */
  readonly maxDependentTasks: number;
  /**
   * Most bytes held by accepted, unfinished tasks — arguments, dependency lists, records — counted as
   * {@link taskCharge} estimates them (`--max-unfinished-bytes`). Tasks waiting for dependencies may
   * use at most half of it.
   */
  readonly maxUnfinishedBytes: number;
}

/**
 * The heap a task holds while unfinished, in bytes, estimated from what the engine has at hand without
 * walking the values:
 *
 * - its decoded arguments and their canonical JSON (both kept until it finishes: the JSON is the
 *   idempotency digest's source, `ctx.argsJson`, and a durable store's copy): the string data at the
 *   JSON's length twice (two copies; the JSON's size bounds the decoded strings'), at the real width —
 *   V8 keeps text with any character above U+00FF at two bytes per character — plus ~48 B per value
 *   (object and array slot), estimated at one value per 12 characters of JSON or more;
 * - the fixed cost of its record, in-flight state, promise and bookkeeping ({@link TASK_FIXED_BYTES}:
 *   the costliest state of a task without dependencies is running);
 * - with dependencies, the machinery of the wait (a map of the dependencies' states, an AbortSignal,
 *   a timer: {@link DEPENDENT_FIXED_BYTES}) and per dependency its id twice (the request's string and,
 *   for a finished dependency, the id in the record the store read back) at up to two bytes per
 *   character, plus that record and the map entry ({@link DEP_ENTRY_BYTES}).
 *
 * Calibrated against heap measurements (`scripts/measure-task-charge.js`; docs/decisions.md,
 * "Admission"): it overcounts long strings and bytes (up to ~3× and ~6×) so as never to undercount
 * small values; deeply nested empty containers (a list of empty maps) remain undercounted.
 */
export function taskCharge(argsJson: string, deps: readonly string[], taskIdLength: number): number {
  let width = 1;
  // Only long texts are scanned: below this, the fixed cost dominates.
  if (argsJson.length > 1024 && /[^\u0000-\u00ff]/.test(argsJson)) width = 2;
  let bytes = TASK_FIXED_BYTES + width * argsJson.length * 2 + Math.ceil(argsJson.length / 12) * 48 + 2 * taskIdLength;
  if (deps.length > 0) {
    bytes += DEPENDENT_FIXED_BYTES;
    for (let i = 0; i < deps.length; i++) bytes += 4 * deps[i]!.length + DEP_ENTRY_BYTES;
  }
  return bytes;
}

/** Record, in-flight task, promises and bookkeeping of a task without dependencies (measured running: ~3.5 KB). */
const TASK_FIXED_BYTES = 3_600;
/** What waiting for dependencies adds: the states' map, an AbortSignal, the deadline's timer and promises (measured: ~4.7 KB in all). */
const DEPENDENT_FIXED_BYTES = 1_200;
/** A dependency's map entry and array slot, and a finished dependency's record as the store returned it (measured: ~340 B). */
const DEP_ENTRY_BYTES = 360;

/**
 * Admission control: refuses a submission (RESOURCE_EXHAUSTED `Too many tasks: …`, naming the bound and
 * its flag) when accepting it would pass a bound on unfinished work. Tasks waiting for dependencies,
 * tasks waiting for a slot and tasks that can run now are bounded separately — the dependents have
 * their own count bound and at most half of the byte bound — so a flood of dependents of a task that
 * never finishes cannot refuse independent work.
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  #dependents = 0;
  #bytes = 0;
  #dependentBytes = 0;

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Tasks waiting for unfinished dependencies. */
  get dependents(): number {
    return this.#dependents;
  }

  /** Bytes charged by unfinished tasks. */
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Throws TooManyTasksError unless a task of `charge` bytes may be accepted; `waitsForDeps` when it
   * has unfinished dependencies, `waitingForSlot` the tasks queued for a slot now (when every slot is
   * taken, a new task would queue too). `runsInCall`: it runs to its end within the submitting call,
   * now (a blocking inline task with nothing to wait for): the byte bound does not refuse it, since
   * its bytes are held only while that call runs — so detached work filling the bound cannot refuse
   * every blocking `add` (abuse probe 6).
   */
  check(charge: number, waitsForDeps: boolean, waitingForSlot: number, slotsFull: boolean, runsInCall = false): void {
    const limits = this.#limits;
    if (waitsForDeps) {
      if (limits.maxDependentTasks > 0 && this.#dependents >= limits.maxDependentTasks) {
        throw new TooManyTasksError(`${this.#dependents} tasks are already waiting for their dependencies (limit ${limits.maxDependentTasks}, --max-dependent-tasks); retry later`);
      }
      if (limits.maxUnfinishedBytes > 0 && this.#dependentBytes + charge > limits.maxUnfinishedBytes / 2) {
        throw new TooManyTasksError(
          `tasks waiting for their dependencies hold ${this.#dependentBytes} bytes; this one (${charge}) would pass half the limit of ${limits.maxUnfinishedBytes} bytes (--max-unfinished-bytes); retry later`,
        );
      }
    } else if (slotsFull && limits.maxQueuedTasks > 0 && waitingForSlot >= limits.maxQueuedTasks) {
      throw new TooManyTasksError(`${waitingForSlot} tasks are already waiting for a slot (limit ${limits.maxQueuedTasks}, --max-queued-tasks); retry later`);
    }
    if (!runsInCall && limits.maxUnfinishedBytes > 0 && this.#bytes + charge > limits.maxUnfinishedBytes) {
      throw new TooManyTasksError(
        `unfinished tasks hold ${this.#bytes} bytes; this one (${charge}) would pass the limit of ${limits.maxUnfinishedBytes} bytes (--max-unfinished-bytes); retry later`,
      );
    }
  }

  /**
   * {@link check} for a batch as a whole (all or nothing): `charge` bytes in all, `dependents` of its
   * tasks waiting for dependencies (holding `dependentCharge` of those bytes), `ready` able to run
   * at once (they queue for a slot when every slot is taken).
   */
  checkBatch(charge: number, dependents: number, dependentCharge: number, ready: number, waitingForSlot: number, slotsFull: boolean): void {
    const limits = this.#limits;
    if (dependents > 0 && limits.maxDependentTasks > 0 && this.#dependents + dependents > limits.maxDependentTasks) {
      throw new TooManyTasksError(`${this.#dependents} tasks are waiting for their dependencies; this batch's ${dependents} would pass the limit of ${limits.maxDependentTasks} (--max-dependent-tasks)`);
    }
    if (dependents > 0 && limits.maxUnfinishedBytes > 0 && this.#dependentBytes + dependentCharge > limits.maxUnfinishedBytes / 2) {
      throw new TooManyTasksError(
        `tasks waiting for their dependencies hold ${this.#dependentBytes} bytes; this batch's (${dependentCharge}) would pass half the limit of ${limits.maxUnfinishedBytes} bytes (--max-unfinished-bytes)`,
      );
    }
    if (ready > 0 && slotsFull && limits.maxQueuedTasks > 0 && waitingForSlot + ready > limits.maxQueuedTasks) {
      throw new TooManyTasksError(`${waitingForSlot} tasks are waiting for a slot; this batch's ${ready} would pass the limit of ${limits.maxQueuedTasks} (--max-queued-tasks)`);
    }
    if (limits.maxUnfinishedBytes > 0 && this.#bytes + charge > limits.maxUnfinishedBytes) {
      throw new TooManyTasksError(`unfinished tasks hold ${this.#bytes} bytes; this batch (${charge}) would pass the limit of ${limits.maxUnfinishedBytes} bytes (--max-unfinished-bytes)`);
    }
  }

  /** Charges an accepted task. */
  add(charge: number): void {
    this.#bytes += charge;
  }

  /** An accepted task waits for unfinished dependencies (until {@link dependenciesDone}). */
  waitingForDeps(charge: number): void {
    this.#dependents++;
    this.#dependentBytes += charge;
  }

  /** The task stopped waiting for its dependencies (still unfinished). */
  dependenciesDone(charge: number): void {
    this.#dependents--;
    this.#dependentBytes -= charge;
  }

  /** The task finished (or was let go): its bytes are free. */
  remove(charge: number): void {
    this.#bytes -= charge;
  }
}
