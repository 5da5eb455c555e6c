import { InvalidArgumentsError } from '../errors';
import type { ResultStore } from '../results/result-store';
import { isFinished, type TaskRecord } from '../results/task-record';
import type { InFlightTask } from './in-flight-task';
import type { RemoteTasks } from './remote-tasks';
import type { SchedulerObserver } from './scheduler-types';
import { eventOf, notFoundEvent } from './task-events';
import { TaskWatch } from './task-watch';

/** What watches need from the scheduler. */
export interface TaskWatchesDeps {
  readonly inFlight: ReadonlyMap<string, InFlightTask>;
  readonly results: ResultStore;
  /** Set with a shared store: tasks unfinished on other replicas are followed through it. */
  readonly remote: RemoteTasks | undefined;
  /** Most events one watch may hold for its reader (`--max-watch-buffer`). */
  readonly maxBuffer: number;
  /** Most task ids one watch may name (`--max-batch-tasks`). */
  readonly maxTasks: number;
}

/**
 * The watches open on this server, by task id: a scheduler observer that turns lifecycle transitions
 * into watch events. With no watch open, each event costs one size check.
 */
export class TaskWatches implements SchedulerObserver {
  readonly #byTask = new Map<string, TaskWatch | TaskWatch[]>();
  readonly #deps: TaskWatchesDeps;

  constructor(deps: TaskWatchesDeps) {
    this.#deps = deps;
  }

  /**
   * Opens a watch on `taskIds`: each task's current state first (INITIAL; NOT_FOUND for an unknown
   * id), then its transitions. A task in flight here is subscribed to and read in one synchronous
   * step, so no transition slips in between. One unfinished in the shared store but running on
   * another replica is followed through the store: its final state arrives as a TRANSITION (its
   * RUNNING and progress events stay on that replica).
   */
  open(taskIds: readonly string[]): TaskWatch {
    const { inFlight, results, remote, maxBuffer, maxTasks } = this.#deps;
    const ids = [...new Set(taskIds)];
    if (ids.length === 0) throw new InvalidArgumentsError('task_ids is empty: name the tasks to watch');
    if (ids.length > maxTasks) throw new InvalidArgumentsError(`${ids.length} task_ids is over the limit of ${maxTasks} (--max-batch-tasks)`);
    const stop = new AbortController();
    const watch = new TaskWatch(ids, maxBuffer, (closed) => {
      stop.abort();
      this.remove(closed, ids);
    });
    this.add(watch, ids);
    const elsewhere: string[] = [];
    for (const taskId of ids) {
      const task = inFlight.get(taskId);
      if (task) watch.push(eventOf('INITIAL', task.record));
      else elsewhere.push(taskId);
    }
    for (const taskId of elsewhere) {
      results.get(taskId).then(
        (record) => {
          if (!record) return watch.push(notFoundEvent(taskId));
          // It may have started here meanwhile (a takeover): then its transitions come as usual.
          const task = inFlight.get(taskId);
          watch.push(eventOf('INITIAL', task?.record ?? record));
          if (task || isFinished(record.status) || !remote) return;
          remote.finished(record, Infinity, stop.signal).then(
            (final) => watch.push(eventOf('TRANSITION', final)),
            (err: unknown) => {
              if (!stop.signal.aborted) watch.fail(err instanceof Error ? err : new Error(String(err)));
            },
          );
        },
        (err: unknown) => watch.fail(err instanceof Error ? err : new Error(String(err))),
      );
    }
    return watch;
  }

  get size(): number {
    return this.#byTask.size;
  }

  /** Registers `watch` for each of its unfinished ids. */
  add(watch: TaskWatch, taskIds: Iterable<string>): void {
    for (const taskId of taskIds) {
      const present = this.#byTask.get(taskId);
      if (!present) this.#byTask.set(taskId, watch);
      else if (Array.isArray(present)) present.push(watch);
      else this.#byTask.set(taskId, [present, watch]);
    }
  }

  /** Forgets `watch` (closed or finished). */
  remove(watch: TaskWatch, taskIds: Iterable<string>): void {
    for (const taskId of taskIds) {
      const present = this.#byTask.get(taskId);
      if (present === watch) this.#byTask.delete(taskId);
      else if (Array.isArray(present)) {
        const left = present.filter((other) => other !== watch);
        if (left.length === 0) this.#byTask.delete(taskId);
        else this.#byTask.set(taskId, left.length === 1 ? left[0]! : left);
      }
    }
  }

  taskStarted(record: TaskRecord): void {
    if (this.#byTask.size > 0) this.#send(record, 'TRANSITION');
  }

  taskRetrying(record: TaskRecord): void {
    if (this.#byTask.size > 0) this.#send(record, 'TRANSITION');
  }

  taskFinished(record: TaskRecord): void {
    if (this.#byTask.size > 0) this.#send(record, 'TRANSITION');
  }

  /** A running task reported progress (already throttled by its context). */
  taskProgress(record: TaskRecord): void {
    if (this.#byTask.size > 0) this.#send(record, 'PROGRESS');
  }

  #send(record: TaskRecord, kind: 'TRANSITION' | 'PROGRESS'): void {
    const watchers = this.#byTask.get(record.taskId);
    if (!watchers) return;
    const event = eventOf(kind, record);
    if (Array.isArray(watchers)) for (const watch of [...watchers]) watch.push(event);
    else watchers.push(event);
  }
}
