import type { InFlightTask } from '../in-flight-task';
import { Lane, laneBefore, newEntry, nextTurn, type QueueEntry } from './fairness';
import { IndexedHeap } from './heap';
import { PausedMethods } from './pause';
import type { StartLimits } from './global-limits';
import { SlidingWindow, type RateLimit } from './rate-limit';

/** How the run queue bounds and orders starts (flags; registration defaults come with each method). */
export interface RunQueueOptions {
  /** Most tasks running at once; 0 = unlimited (`--max-concurrent-tasks`). */
  readonly maxConcurrent: number;
  /** Waiting this long counts as one priority level (`--priority-aging-ms`). */
  readonly agingMs: number;
  /** Per-method running limits (`--method-concurrency`), over the registration's `maxConcurrency`. */
  readonly methodConcurrency?: ReadonlyMap<string, number>;
  /** Most running tasks per concurrency key; 0 = unlimited (`--key-concurrency`). */
  readonly keyConcurrency?: number;
  /** Per-method start rates (`--method-rate-limit`), over the registration's `rateLimit`. */
  readonly methodRateLimits?: ReadonlyMap<string, RateLimit>;
  /** Start rate per concurrency key (`--key-rate-limit`). */
  readonly keyRateLimit?: RateLimit | undefined;
}

/** Counts of one method or key. */
interface Counted {
  running: number;
  readonly parked: Set<Lane<InFlightTask>>;
  window: SlidingWindow | undefined;
}

interface MethodState extends Counted {
  readonly limit: number;
  readonly rate: RateLimit | undefined;
}

/** What a queued task waits for: a slot of its own, or one of these. */
type Block = 'method' | 'key' | 'rate';

/** Stats of one method or key, for the admin API, metrics and the dashboard. */
export interface QueueCounts {
  readonly waiting: number;
  readonly running: number;
}

export interface RunQueueStats {
  /** Tasks waiting for a slot, per method. */
  readonly waitingByMethod: ReadonlyMap<string, number>;
  /** Per concurrency key with tasks waiting or running. */
  readonly keys: ReadonlyMap<string, QueueCounts>;
  readonly paused: readonly string[];
  /** Tasks waiting for their start time (or a retry's backoff). */
  readonly delayed: number;
}

/**
 * The run queue: who takes a free slot next, and whether a task may start now. It replaces a plain
 * FIFO semaphore with priorities that age, round-robin across (method, concurrency key) lanes (rules in
 * `fairness.ts`), per-method and per-key running limits, start-rate limits and paused methods.
 *
 * Hot path: when none of those are configured and nothing waits, {@link tryAcquire} is the old
 * semaphore (a counter and a comparison, plus a per-key count for tasks that carry a key).
 * Limits are per replica here; with a shared Redis store the global counts (`global-limits.ts`) add to them.
 */
export class RunQueue {
  readonly #max: number;
  readonly #agingMs: number;
  readonly #methodConcurrency: ReadonlyMap<string, number>;
  readonly #keyConcurrency: number;
  readonly #methodRates: ReadonlyMap<string, RateLimit>;
  readonly #keyRate: RateLimit | undefined;
  readonly #configured: boolean;
  /** Nothing but the global bound applies (no limits configured, nothing paused): the fast path. */
  #plain: boolean;
  #running = 0;
  #waiting = 0;
  readonly #methods = new Map<string, MethodState>();
  readonly #keys = new Map<string, Counted>();
  readonly #lanes = new Map<string, Lane<InFlightTask>>();
  readonly #ready = new IndexedHeap<Lane<InFlightTask>>(laneBefore);
  readonly #rateParked = new Set<Lane<InFlightTask>>();
  #rateTimer: NodeJS.Timeout | undefined = undefined;
  #rateTimerAt = Infinity;
  readonly paused: PausedMethods;
  /** Tasks waiting for a start time or a retry's backoff (counted by the runner). */
  delayed = 0;

  constructor(options: RunQueueOptions) {
    this.#max = options.maxConcurrent;
    this.#agingMs = options.agingMs;
    this.#methodConcurrency = options.methodConcurrency ?? new Map();
    this.#keyConcurrency = options.keyConcurrency ?? 0;
    this.#methodRates = options.methodRateLimits ?? new Map();
    this.#keyRate = options.keyRateLimit;
    this.#configured = this.#methodConcurrency.size > 0 || this.#keyConcurrency > 0 || this.#methodRates.size > 0 || this.#keyRate !== undefined;
    this.#plain = !this.#configured;
    this.paused = new PausedMethods((method) => {
      this.#plain = !this.#configured && this.paused.size === 0;
      const state = this.#methods.get(method);
      if (state) this.#unpark(state.parked);
      this.#dispatch();
    });
  }

  /** Slots in use. */
  get running(): number {
    return this.#running;
  }

  /** Whether every slot is taken (a new task would have to wait). */
  get full(): boolean {
    return this.#max !== 0 && this.#running >= this.#max;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  pause(method: string): void {
    this.paused.pause(method);
    this.#plain = false;
  }

  resume(method: string): void {
    this.paused.resume(method);
  }

  /** Takes a slot at once when the task may start now (true), else false: then call {@link wait}. */
  tryAcquire(task: InFlightTask): boolean {
    // Waiting lanes go first; lanes parked on a limit or a pause do not hold up other tasks.
    if (this.#ready.size !== 0 || (this.#max !== 0 && this.#running >= this.#max)) return false;
    const run = task.run;
    if (this.#plain && run.definition.limits === undefined) {
      this.#running++;
      if (run.concurrencyKey !== '') this.#countKey(task, this.#key(run.concurrencyKey));
      return true;
    }
    const now = Date.now();
    const method = this.#method(run.definition.name, task);
    const key = run.concurrencyKey === '' ? undefined : this.#key(run.concurrencyKey);
    if (this.#blocked(run.definition.name, method, key, now) !== undefined) return false;
    this.#take(task, method, key, now);
    return true;
  }

  /** Waits for a slot: true when granted, false when withdrawn with {@link withdraw}. */
  wait(task: InFlightTask): Promise<boolean> {
    return new Promise<boolean>((grant) => {
      const run = task.run;
      const id = run.concurrencyKey === '' ? run.definition.name : `${run.definition.name}\u0000${run.concurrencyKey}`;
      const now = Date.now();
      let lane = this.#lanes.get(id);
      if (!lane) {
        lane = new Lane<InFlightTask>(run.definition.name, run.concurrencyKey, now);
        this.#lanes.set(id, lane);
      }
      const entry = newEntry(task, lane, run.priority, now, this.#agingMs, grant);
      task.queueEntry = entry;
      lane.tasks.push(entry);
      lane.live++;
      this.#waiting++;
      if (!lane.parked) {
        lane.rerank(this.#agingMs);
        if (this.#ready.has(lane)) this.#ready.update(lane);
        else this.#ready.push(lane);
      }
      this.#dispatch();
    });
  }

  /** Stops waiting; its `wait` resolves false. */
  withdraw(task: InFlightTask): void {
    const entry = task.queueEntry as QueueEntry<InFlightTask> | undefined;
    const grant = entry?.grant;
    if (!entry || !grant) return;
    entry.grant = undefined;
    task.queueEntry = undefined;
    this.#waiting--;
    const lane = entry.lane;
    lane.live--;
    if (lane.live === 0) this.#dropLane(lane);
    else if (!lane.parked) {
      lane.rerank(this.#agingMs);
      this.#ready.update(lane);
    }
    grant(false);
  }

  /** Frees the task's slot and gives free slots to the next waiters. */
  release(task: InFlightTask): void {
    this.#running--;
    const method = task.slotMethod as MethodState | undefined;
    if (method) {
      task.slotMethod = undefined;
      method.running--;
      if (method.parked.size > 0) this.#unpark(method.parked);
    }
    const key = task.slotKey as Counted | undefined;
    if (key) {
      task.slotKey = undefined;
      key.running--;
      if (key.parked.size > 0) this.#unpark(key.parked);
      if (key.running === 0 && key.parked.size === 0 && (key.window === undefined || key.window.idle(Date.now()))) this.#keys.delete(task.run.concurrencyKey);
    }
    if (this.#waiting !== 0) this.#dispatch();
  }

  /**
   * The limits that applied to the slot the task holds, for the global count across replicas
   * (`global-limits.ts`); undefined when none did (the plain path: no method state was taken).
   */
  limitsOf(task: InFlightTask): StartLimits | undefined {
    const method = task.slotMethod as MethodState | undefined;
    const keyed = task.slotKey !== undefined;
    const keyConcurrency = keyed ? this.#keyConcurrency : 0;
    const keyRate = keyed ? this.#keyRate : undefined;
    if (!method || (method.limit === 0 && method.rate === undefined && keyConcurrency === 0 && keyRate === undefined)) return undefined;
    return { method: task.run.definition.name, methodConcurrency: method.limit, methodRate: method.rate, key: task.run.concurrencyKey, keyConcurrency, keyRate };
  }

  stats(): RunQueueStats {
    const waitingByMethod = new Map<string, number>();
    const waitingByKey = new Map<string, number>();
    for (const lane of this.#lanes.values()) {
      waitingByMethod.set(lane.method, (waitingByMethod.get(lane.method) ?? 0) + lane.live);
      if (lane.key !== '') waitingByKey.set(lane.key, (waitingByKey.get(lane.key) ?? 0) + lane.live);
    }
    const keys = new Map<string, QueueCounts>();
    for (const [key, state] of this.#keys) keys.set(key, { waiting: waitingByKey.get(key) ?? 0, running: state.running });
    for (const [key, waiting] of waitingByKey) if (!keys.has(key)) keys.set(key, { waiting, running: 0 });
    return { waitingByMethod, keys, paused: this.paused.list(), delayed: this.delayed };
  }

  /** Stops the rate-limit timer (shutdown). */
  close(): void {
    clearTimeout(this.#rateTimer);
    this.#rateTimer = undefined;
  }

  #method(name: string, task: InFlightTask): MethodState {
    let state = this.#methods.get(name);
    if (!state) {
      const limits = task.run.definition.limits;
      const rate = this.#methodRates.get(name) ?? limits?.rateLimit;
      state = { limit: this.#methodConcurrency.get(name) ?? limits?.maxConcurrency ?? 0, rate, running: 0, parked: new Set(), window: rate ? new SlidingWindow(rate) : undefined };
      this.#methods.set(name, state);
    }
    return state;
  }

  #key(key: string): Counted {
    let state = this.#keys.get(key);
    if (!state) {
      state = { running: 0, parked: new Set(), window: this.#keyRate ? new SlidingWindow(this.#keyRate) : undefined };
      this.#keys.set(key, state);
    }
    return state;
  }

  #countKey(task: InFlightTask, key: Counted): void {
    key.running++;
    task.slotKey = key;
  }

  /** Why a task of this method and key cannot start now; undefined when it can. */
  #blocked(name: string, method: MethodState, key: Counted | undefined, now: number): Block | undefined {
    if ((method.limit !== 0 && method.running >= method.limit) || this.paused.has(name)) return 'method';
    if (key && this.#keyConcurrency !== 0 && key.running >= this.#keyConcurrency) return 'key';
    if ((method.window && method.window.waitMs(now) > 0) || (key?.window && key.window.waitMs(now) > 0)) return 'rate';
    return undefined;
  }

  #take(task: InFlightTask, method: MethodState, key: Counted | undefined, now: number): void {
    this.#running++;
    method.running++;
    task.slotMethod = method;
    method.window?.record(now);
    if (key) {
      this.#countKey(task, key);
      key.window?.record(now);
    }
  }

  /** Gives free slots to the best lanes that may start a task now; parks the lanes that may not. */
  #dispatch(): void {
    if (this.#waiting === 0) return;
    let now = -1;
    while (this.#waiting !== 0 && (this.#max === 0 || this.#running < this.#max)) {
      const lane = this.#ready.peek();
      if (!lane) return;
      const head = lane.head();
      if (!head) {
        this.#dropLane(lane);
        continue;
      }
      if (now < 0) now = Date.now();
      const task = head.item;
      const method = this.#method(lane.method, task);
      const key = lane.key === '' ? undefined : this.#key(lane.key);
      const block = this.#blocked(lane.method, method, key, now);
      if (block !== undefined) {
        this.#park(lane, block, method, key, now);
        continue;
      }
      lane.tasks.pop();
      lane.live--;
      this.#waiting--;
      const grant = head.grant!;
      head.grant = undefined;
      task.queueEntry = undefined;
      this.#take(task, method, key, now);
      lane.waitingSince = now;
      lane.turn = nextTurn();
      if (lane.live === 0) this.#dropLane(lane);
      else {
        lane.rerank(this.#agingMs);
        this.#ready.update(lane);
      }
      grant(true);
    }
  }

  #park(lane: Lane<InFlightTask>, block: Block, method: MethodState, key: Counted | undefined, now: number): void {
    this.#ready.remove(lane);
    lane.parked = true;
    if (block === 'method') method.parked.add(lane);
    else if (block === 'key') key!.parked.add(lane);
    else {
      this.#rateParked.add(lane);
      const wait = Math.max(method.window?.waitMs(now) ?? 0, key?.window?.waitMs(now) ?? 0, 1);
      this.#wakeAt(now + wait);
    }
  }

  #wakeAt(at: number): void {
    if (this.#rateTimer !== undefined && this.#rateTimerAt <= at) return;
    clearTimeout(this.#rateTimer);
    this.#rateTimerAt = at;
    this.#rateTimer = setTimeout(() => {
      this.#rateTimer = undefined;
      this.#rateTimerAt = Infinity;
      this.#unpark(this.#rateParked);
      this.#dispatch();
    }, Math.max(1, at - Date.now()));
    this.#rateTimer.unref();
  }

  #unpark(lanes: Set<Lane<InFlightTask>>): void {
    for (const lane of lanes) {
      lane.parked = false;
      if (lane.live === 0) {
        this.#dropLane(lane);
        continue;
      }
      lane.rerank(this.#agingMs);
      this.#ready.push(lane);
    }
    lanes.clear();
  }

  #dropLane(lane: Lane<InFlightTask>): void {
    this.#ready.remove(lane);
    if (lane.parked) {
      lane.parked = false;
      this.#rateParked.delete(lane);
      this.#methods.get(lane.method)?.parked.delete(lane);
      if (lane.key !== '') this.#keys.get(lane.key)?.parked.delete(lane);
    }
    const id = lane.key === '' ? lane.method : `${lane.method}\u0000${lane.key}`;
    if (this.#lanes.get(id) === lane) this.#lanes.delete(id);
  }
}
