import type { Logger } from '../logging/logger';
import type { RunningTaskInfo } from './scheduler-types';

/** Settings of {@link startStallWatchdog}. */
export interface StallWatchdogOptions {
  /** A gap of at least this many ms between two ticks is a stall (logged at warn). */
  readonly stallMs: number;
  readonly logger: Logger;
  /** The tasks running now; called only after a stall has been seen. */
  readonly runningTasks: () => readonly RunningTaskInfo[];
  /** Tick period; default a quarter of `stallMs`, between 10 and 250 ms. */
  readonly intervalMs?: number;
}

/** A running watchdog. */
export interface StallWatchdog {
  /** Stalls seen so far. */
  readonly stalls: number;
  stop(): void;
}

/**
 * Event-loop stall watchdog by timer drift: one unref'd interval timer notes when it fires; when a
 * tick comes `stallMs` or more late, the loop was blocked (a task doing synchronous work on the main
 * thread, typically an async task that spins), and it logs a warning naming the tasks running at
 * that moment. Costs one timer, nothing per task: the running tasks are listed only after a stall.
 * A task that blocks the loop and then finishes in the same turn is gone by the time the timer runs;
 * the warning then lists none, but still reports the stall and its length.
 */
export function startStallWatchdog(options: StallWatchdogOptions): StallWatchdog {
  const { stallMs, logger } = options;
  const intervalMs = options.intervalMs ?? Math.min(250, Math.max(10, Math.floor(stallMs / 4)));
  let last = performance.now();
  let stalls = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const lateMs = now - last - intervalMs;
    last = now;
    if (lateMs < stallMs) return;
    stalls++;
    const wallNow = Date.now();
    const running = options.runningTasks().map((task) => `${task.method} (task ${task.taskId}, running ${wallNow - task.startedAt} ms)`);
    logger.warn(`event loop stalled for ${Math.round(lateMs)} ms`, {
      stalledMs: Math.round(lateMs),
      thresholdMs: stallMs,
      running,
    });
  }, intervalMs);
  timer.unref();
  return {
    get stalls() {
      return stalls;
    },
    stop: () => clearInterval(timer),
  };
}
