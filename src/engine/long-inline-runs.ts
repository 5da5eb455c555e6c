/** One inline sync run that blocked the event loop for a while (it has ended by the time anyone reads it). */
export interface LongInlineRun {
  readonly taskId: string;
  readonly method: string;
  /** How long it ran, ms. */
  readonly ms: number;
}

/**
 * The longest inline sync runs (`worker: false` tasks, run on the main thread) since the stall watchdog
 * last looked. Such a task blocks the loop and ends in the same turn, so when the watchdog's timer
 * finally fires it is no longer running: the dispatcher notes it here on its way out, and the watchdog
 * names it. Costs the dispatcher one clock read per inline run and a comparison; only runs of at least
 * `thresholdMs` are kept, at most `capacity` of them (the longest), so a flood of them costs nothing more.
 */
export class LongInlineRuns {
  readonly thresholdMs: number;
  readonly #capacity: number;
  #runs: LongInlineRun[] = [];

  constructor(thresholdMs: number, capacity = 3) {
    this.thresholdMs = thresholdMs;
    this.#capacity = capacity;
  }

  /** Notes a run of `ms` (called for every inline run; returns at once below the threshold). */
  note(taskId: string, method: string, ms: number): void {
    if (ms < this.thresholdMs) return;
    const runs = this.#runs;
    if (runs.length === this.#capacity) {
      if (ms <= runs[runs.length - 1]!.ms) return;
      runs.pop();
    }
    let at = runs.length;
    while (at > 0 && runs[at - 1]!.ms < ms) at--;
    runs.splice(at, 0, { taskId, method, ms });
  }

  /** The runs noted since the last call, longest first; forgets them. */
  take(): LongInlineRun[] {
    const runs = this.#runs;
    if (runs.length > 0) this.#runs = [];
    return runs;
  }
}
