/** Shared pieces of the lifecycle tests: a task the test opens by hand, a store that logs transitions, polling. */
import { createBuiltinRegistry, type AppConfig } from '../../src/app';
import { MemoryResultStore } from '../../src/results/memory-result-store';
import type { TaskRecord, TaskStatus } from '../../src/results/task-record';
import { asyncTask, type TaskRegistry } from '../../src/tasks/task-registry';
import { startTestServer, type TestServer } from '../helpers/start-server';

/**
 * The async task `gate` (first arg: a string name) starts, notes its name, and waits until the test
 * calls {@link Gates.open} with that name (→ `opened <name>`) or the task is aborted. Lets tests
 * order events without sleeping.
 */
export class Gates {
  /** Names in the order their tasks started running. */
  readonly started: string[] = [];
  running = 0;
  maxRunning = 0;
  readonly #waiting = new Map<string, () => void>();

  register(registry: TaskRegistry): void {
    asyncTask(async (args, ctx) => {
      const first = args[0];
      const name = first?.kind === 'string' ? first.value : '?';
      this.started.push(name);
      this.running++;
      this.maxRunning = Math.max(this.maxRunning, this.running);
      try {
        await new Promise<void>((resolve, reject) => {
          this.#waiting.set(name, resolve);
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error), { once: true });
        });
        return `opened ${name}`;
      } finally {
        this.#waiting.delete(name);
        this.running--;
      }
    }, { registry, name: 'gate' });
  }

  /** Lets the running task `name` finish; throws if it is not running. */
  open(name: string): void {
    const resolve = this.#waiting.get(name);
    if (!resolve) throw new Error(`gate '${name}' is not running (started: ${this.started.join(',')})`);
    resolve();
  }
}

/**
 * The in-memory store, logging every status each task is stored with (so tests can assert status
 * sequences), and keeping its records after `close()` so they can be read after a shutdown.
 */
export class RecordingStore extends MemoryResultStore {
  readonly #log: Array<{ taskId: string; status: TaskStatus }> = [];
  closed = false;

  override async insert(record: TaskRecord): Promise<TaskRecord | undefined> {
    const prior = await super.insert(record);
    if (!prior) this.#log.push({ taskId: record.taskId, status: record.status });
    return prior;
  }

  override update(record: TaskRecord): Promise<void> {
    this.#log.push({ taskId: record.taskId, status: record.status });
    return super.update(record);
  }

  override close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  /** Every status `taskId` was stored with, in order. */
  statuses(taskId: string): TaskStatus[] {
    return this.#log.filter((entry) => entry.taskId === taskId).map((entry) => entry.status);
  }
}

/** Polls `check` every 10 ms until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export const ZERO_STATS = { inFlight: 0, pending: 0, running: 0, waitingForDeps: 0, waitingForSlot: 0, unfinishedBytes: 0 };

/** A real server (no plugins, no worker threads) with the `gate` task and a {@link RecordingStore}. */
export async function startGatedServer(config: Partial<AppConfig>): Promise<{ server: TestServer; gates: Gates; store: RecordingStore }> {
  const registry = createBuiltinRegistry();
  const gates = new Gates();
  gates.register(registry);
  const store = new RecordingStore();
  const server = await startTestServer({ libraryDir: '', workerThreads: 0, ...config }, { registry, results: store });
  return { server, gates, store };
}
