import { TooManyTasksError } from '../errors';
import { isFinished } from '../results/task-record';
import type { TaskEvent } from './task-events';

/** Most events in one stream message, and about the most characters of their results and ids. */
const MAX_GROUP_EVENTS = 2_000;
const MAX_GROUP_CHARS = 1024 * 1024;

/** Default `--max-watch-buffer`: events one watch may hold for a slow reader before it is ended. */
export const DEFAULT_MAX_WATCH_BUFFER = 100_000;

/**
 * One `WatchTasks` stream: events pushed by the engine (see TaskWatches), read by the caller as an
 * async iterator. It ends once every watched task has finished and its events are read. The buffer is
 * bounded: besides the initial states (one per task), a reader that falls `limit` events behind ends the stream with RESOURCE_EXHAUSTED naming
 * the limit, so a slow consumer cannot grow server memory. Events of one task are in the order of its
 * transitions.
 */
export class TaskWatch implements AsyncIterable<TaskEvent[]> {
  readonly #limit: number;
  readonly #unfinishedAtStart: number;
  readonly #unfinished: Set<string>;
  readonly #onClose: (watch: TaskWatch) => void;
  #buffer: TaskEvent[] = [];
  #head = 0;
  #failure: Error | undefined = undefined;
  #closed = false;
  #wake: (() => void) | undefined = undefined;

  constructor(taskIds: Iterable<string>, limit: number, onClose: (watch: TaskWatch) => void) {
    this.#unfinished = new Set(taskIds);
    // The initial states (one per task, all at once) do not count against the limit.
    this.#unfinishedAtStart = this.#unfinished.size;
    this.#limit = limit + this.#unfinishedAtStart;
    this.#onClose = onClose;
  }

  /** Ids of the tasks that have not finished yet (as this watch has seen them). */
  get unfinished(): ReadonlySet<string> {
    return this.#unfinished;
  }

  /** Adds an event; a task's terminal (or NOT_FOUND) event removes it from the unfinished ones. */
  push(event: TaskEvent): void {
    if (this.#closed || !this.#unfinished.has(event.taskId)) return;
    if (this.#buffer.length - this.#head >= this.#limit) {
      this.fail(new TooManyTasksError(`the watch fell ${this.#limit - this.#unfinishedAtStart} events behind (limit --max-watch-buffer); read faster or watch fewer tasks`));
      return;
    }
    this.#buffer.push(event);
    if (event.status === 'NOT_FOUND' || isFinished(event.status)) this.#unfinished.delete(event.taskId);
    this.#wake?.();
  }

  /** Ends the stream with `err` (after nothing more: events not yet read are dropped). */
  fail(err: Error): void {
    if (this.#closed) return;
    this.#failure = err;
    this.#close();
  }

  /** Stops the watch (the reader went away). */
  close(): void {
    this.#close();
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
    this.#wake?.();
  }

  /**
   * Yields the events ready at each step, several at once (one stream message each: 10,000 tasks' 30,000
   * events are a few dozen messages, not 30,000), each group at most MAX_GROUP_EVENTS events and about
   * MAX_GROUP_CHARS characters of results (at least one event), well under a message's size limit.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<TaskEvent[]> {
    try {
      for (;;) {
        if (this.#failure) throw this.#failure;
        if (this.#head < this.#buffer.length) {
          const group: TaskEvent[] = [];
          let chars = 0;
          while (this.#head < this.#buffer.length && group.length < MAX_GROUP_EVENTS && (group.length === 0 || chars < MAX_GROUP_CHARS)) {
            const event = this.#buffer[this.#head]!;
            this.#buffer[this.#head++] = undefined as unknown as TaskEvent;
            chars += event.result.length + event.taskId.length;
            group.push(event);
          }
          if (this.#head === this.#buffer.length) {
            this.#buffer = [];
            this.#head = 0;
          } else if (this.#head > 1024 && this.#head * 2 > this.#buffer.length) {
            this.#buffer = this.#buffer.slice(this.#head);
            this.#head = 0;
          }
          yield group;
          continue;
        }
        if (this.#unfinished.size === 0 || this.#closed) return;
        await new Promise<void>((resolve) => (this.#wake = resolve));
        this.#wake = undefined;
      }
    } finally {
      this.#close();
    }
  }
}
