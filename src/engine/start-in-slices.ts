import type { InFlightTask } from './in-flight-task';

/** Tasks started per turn of the event loop. */
const START_SLICE = 256;

/**
 * Starts `tasks` a slice per turn of the event loop, from the next turn on: 10,000 tasks (a batch) or
 * 100,000 (a recovery) started in one turn would hold every call behind them.
 */
export function startInSlices(tasks: readonly InFlightTask[], start: (task: InFlightTask) => void, from = 0): void {
  if (from >= tasks.length) return;
  setImmediate(() => {
    const end = Math.min(tasks.length, from + START_SLICE);
    for (let i = from; i < end; i++) start(tasks[i]!);
    startInSlices(tasks, start, end);
  });
}
