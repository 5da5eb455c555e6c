import type { SchedulerObserver } from './scheduler-types';

/**
 * One observer that forwards to several (metrics and the dashboard). Undefined entries are skipped;
 * with one left it is returned as is, and an event none of them listens for stays absent, so the
 * scheduler does no extra work per task for it.
 */
export function combineObservers(observers: ReadonlyArray<SchedulerObserver | undefined>): SchedulerObserver | undefined {
  const present = observers.filter((observer): observer is SchedulerObserver => observer !== undefined);
  if (present.length <= 1) return present[0];
  const accepting = present.filter((observer) => observer.taskAccepted);
  const starting = present.filter((observer) => observer.taskStarted);
  const retrying = present.filter((observer) => observer.taskRetrying);
  const combined: SchedulerObserver = {
    taskFinished(record, runMs) {
      for (const observer of present) observer.taskFinished(record, runMs);
    },
  };
  if (accepting.length > 0) {
    combined.taskAccepted = (record, argsJson) => {
      for (const observer of accepting) observer.taskAccepted!(record, argsJson);
    };
  }
  if (starting.length > 0) {
    combined.taskStarted = (record) => {
      for (const observer of starting) observer.taskStarted!(record);
    };
  }
  if (retrying.length > 0) {
    combined.taskRetrying = (record) => {
      for (const observer of retrying) observer.taskRetrying!(record);
    };
  }
  return combined;
}
