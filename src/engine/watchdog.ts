import type { Logger } from '../logging/logger';
import { RateLimitedLog } from '../logging/rate-limited-log';
import type { LongInlineRuns } from './long-inline-runs';
import type { RunningTaskInfo } from './scheduler-types';

/** Tasks a warning names at most; the rest are a count. */
export const STALL_NAMED_TASKS = 5;

/** Settings of {@link startStallWatchdog}. */
export interface StallWatchdogOptions {
  /** A gap of at least this many ms between two ticks is a stall (logged at warn). */
  readonly stallMs: number;
  readonly logger: Logger;
  /** Up to `limit` tasks running now (cheap: never a walk of every task); called only after a stall. */
  readonly runningTasks: (limit: number) => readonly RunningTaskInfo[];
  /** How many tasks run now in all (a counter). */
  readonly runningCount: () => number;
  /** Inline sync runs that blocked the loop, noted by the dispatcher (they have ended when the timer fires). */
  readonly longInlineRuns?: LongInlineRuns;
  /** Tick period; default a quarter of `stallMs`, between 10 and 250 ms. */
  readonly intervalMs?: number;
  /** Warnings written per `warnIntervalMs`; later stalls in it are counted into one summary line. Default 3. */
  readonly warnBurst?: number;
  /** Default 60 000. */
  readonly warnIntervalMs?: number;
}

/** A running watchdog. */
export interface StallWatchdog {
  /** Stalls seen so far (logged or counted). */
  readonly stalls: number;
  stop(): void;
}

/**
 * Event-loop stall watchdog by timer drift: one unref'd interval timer notes when it fires; when a
 * tick comes `stallMs` or more late, the loop was blocked, and it logs a warning naming what blocked
 * it: inline sync tasks (`worker: false`) that ran long — over by now, so the dispatcher noted them
 * for us — and the tasks still running (an async task that spins), at most {@link STALL_NAMED_TASKS}
 * plus a count of the rest. The warning must never feed itself: it is built from a bounded list (no
 * walk of every task, no line that grows with the load), and warnings are rate-limited (a few per
 * minute, then one summary line), so a loaded server stalling again and again costs a few lines.
 * Costs one timer, nothing per task beyond the dispatcher's clock read.
 */
export function startStallWatchdog(options: StallWatchdogOptions): StallWatchdog {
  const { stallMs } = options;
  const intervalMs = options.intervalMs ?? Math.min(250, Math.max(10, Math.floor(stallMs / 4)));
  const log = new RateLimitedLog({
    logger: options.logger,
    level: 'warn',
    burst: options.warnBurst ?? 3,
    intervalMs: options.warnIntervalMs ?? 60_000,
    summary: 'event loop stalled again',
  });
  let last = performance.now();
  let stalls = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const lateMs = now - last - intervalMs;
    last = now;
    // Inline runs noted during a tick that was on time did not stall anything: forget them.
    const inline = options.longInlineRuns?.take() ?? [];
    if (lateMs < stallMs) return;
    stalls++;
    const stalledMs = Math.round(lateMs);
    log.report(stallBucket(stalledMs), `event loop stalled for ${stalledMs} ms`, describeStall(options, inline, stalledMs));
  }, intervalMs);
  timer.unref();
  return {
    get stalls() {
      return stalls;
    },
    stop: () => {
      clearInterval(timer);
      log.flush();
    },
  };
}

/** The fields of one warning: bounded, whatever the load. */
function describeStall(options: StallWatchdogOptions, inline: ReturnType<LongInlineRuns['take']>, stalledMs: number): Record<string, unknown> {
  const named = inline.map((run) => `${run.method} (task ${run.taskId}, ran ${run.ms} ms inline)`);
  const room = STALL_NAMED_TASKS - named.length;
  const wallNow = Date.now();
  const running = room > 0 ? options.runningTasks(room) : [];
  for (const task of running) named.push(`${task.method} (task ${task.taskId}, running ${wallNow - task.startedAt} ms)`);
  const moreRunning = Math.max(0, options.runningCount() - running.length);
  return {
    stalledMs,
    thresholdMs: options.stallMs,
    running: named,
    ...(moreRunning > 0 ? { moreRunning } : {}),
  };
}

/** The reason a suppressed stall is counted under in the summary line. */
function stallBucket(ms: number): string {
  if (ms < 1_000) return 'under 1 s';
  if (ms < 10_000) return '1–10 s';
  return '10 s or more';
}
