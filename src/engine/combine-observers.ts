import type { SchedulerObserver } from './scheduler-types';

/** The optional events of a {@link SchedulerObserver} (taskFinished is required). */
const OPTIONAL_EVENTS = ['taskAccepted', 'taskWaiting', 'taskStarted', 'taskRetrying', 'taskProgress', 'batchAccepted'] as const;

/**
 * One observer that forwards to several (metrics, the dashboard, tracing). Undefined entries are
 * skipped; with one left it is returned as is, and an event none of them listens for stays absent, so
 * the scheduler does no extra work per task for it.
 */
export function combineObservers(observers: ReadonlyArray<SchedulerObserver | undefined>): SchedulerObserver | undefined {
  const present = observers.filter((observer): observer is SchedulerObserver => observer !== undefined);
  if (present.length <= 1) return present[0];
  const combined: SchedulerObserver = {
    taskFinished(record, runMs) {
      for (const observer of present) observer.taskFinished(record, runMs);
    },
  };
  for (const event of OPTIONAL_EVENTS) {
    const listening = present.filter((observer) => observer[event] !== undefined);
    if (listening.length === 0) continue;
    (combined as unknown as Record<string, unknown>)[event] = (...args: unknown[]) => {
      for (const observer of listening) (observer[event] as (...a: unknown[]) => void).apply(observer, args);
    };
  }
  return combined;
}
