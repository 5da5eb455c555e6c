import { IndexedHeap, type HeapItem } from './heap';

/**
 * The ordering rules of the run queue (README "Scheduling" states them for users):
 *
 * - Tasks wait in **lanes**, one per (method, concurrency key).
 * - Within a lane, a task's rank is `priority × agingMs − enqueuedAt`: higher priority first, and every
 *   `agingMs` a task has waited counts as one priority level, so a later task of higher priority
 *   overtakes it only while it has not waited long enough. Equal ranks: first come, first served.
 * - Across lanes, the next slot goes to the lane whose head has the highest
 *   `priority × agingMs − laneWaitingSince`, where `laneWaitingSince` is when that lane last started a
 *   task (or got its first task). A lane that just started a task falls behind every lane of equal
 *   priority that was already waiting: with equal priorities lanes take turns (round-robin), so one
 *   key's burst delays another key's task by at most one turn; and a lane waiting long enough
 *   outranks any priority, so no lane starves.
 */

let seq = 0;

/** A fresh tie-breaker: later than every earlier one. */
export function nextTurn(): number {
  return ++seq;
}

/** A task waiting in a lane. `id` tells a live entry from one left behind by a withdrawn waiter. */
export interface QueueEntry<T> extends HeapItem {
  readonly item: T;
  readonly lane: Lane<T>;
  readonly priority: number;
  readonly rank: number;
  readonly seq: number;
  grant: ((granted: boolean) => void) | undefined;
}

function entryBefore<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.seq < b.seq);
}

export class Lane<T> implements HeapItem {
  heapIndex = -1;
  readonly method: string;
  readonly key: string;
  readonly tasks = new IndexedHeap<QueueEntry<T>>(entryBefore);
  /** When this lane last started a task, or got its first one. */
  waitingSince: number;
  /** Rank of the lane among lanes (see the rules above); kept current by {@link rerank}. */
  rank = 0;
  /** Tie-breaker: lower first. */
  turn = nextTurn();
  /** Where the lane is: ready (among lanes that may start a task) or parked (blocked by a limit). */
  parked = false;
  /** Live (not withdrawn) entries. */
  live = 0;

  constructor(method: string, key: string, now: number) {
    this.method = method;
    this.key = key;
    this.waitingSince = now;
  }

  /** Live entries only (withdrawn ones are dropped lazily). */
  head(): QueueEntry<T> | undefined {
    for (;;) {
      const top = this.tasks.peek();
      if (top === undefined || top.grant !== undefined) return top;
      this.tasks.pop();
    }
  }

  rerank(agingMs: number): void {
    const head = this.head();
    this.rank = head ? head.priority * agingMs - this.waitingSince : -Infinity;
  }
}

export function laneBefore<T>(a: Lane<T>, b: Lane<T>): boolean {
  return a.rank > b.rank || (a.rank === b.rank && a.turn < b.turn);
}

export function newEntry<T>(item: T, lane: Lane<T>, priority: number, now: number, agingMs: number, grant: (granted: boolean) => void): QueueEntry<T> {
  return { heapIndex: -1, item, lane, priority, rank: priority * agingMs - now, seq: ++seq, grant };
}
