import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import type { ArgValue } from '../../args/arg-value';
import { InvalidArgumentsError, PermanentError, TaskExecutionError } from '../../errors';
import type { TaskContext } from '../task-context';
import type { PluginSnapshot } from '../../plugins/load-plugins';
import { isPoolStartMessage, type PoolReply, type PoolRequest, type PoolWorkerData } from './pool-protocol';

/** Settings of a {@link TaskPool}. */
export interface TaskPoolOptions {
  /** Worker threads; default: the machine's available parallelism. */
  readonly threads?: number;
  /** Heap limit of each worker in MB (a task that exceeds it kills only its worker). 0: Node's default. */
  readonly maxMemoryMb?: number;
  /** Plugins as the main thread loaded them (file and source snapshot). */
  readonly plugins?: readonly PluginSnapshot[];
  readonly taskModules?: readonly string[];
  /** Told about pool-level errors (a worker that fails outside any task). */
  readonly onError?: (err: unknown) => void;
  /** Told once per file (per plugin set) that a plugin or task module failed to load in the worker threads. */
  readonly onLoadFailure?: (file: string, reason: string) => void;
  /**
   * Told when the worker threads die while starting so that none is left (a plugin that kills every
   * thread): worker tasks then fail at once with `reason` instead of waiting forever.
   */
  readonly onBroken?: (reason: string) => void;
  /** After the pool broke, how long worker tasks fail fast before fresh threads are tried again, ms. Default 10 000. */
  readonly brokenRetryMs?: number;
}

/** Why the pool has no threads, and until when worker tasks fail fast. */
interface Broken {
  readonly reason: string;
  readonly until: number;
}

/**
 * Runs CPU-bound sync tasks (registered with `worker: true`) on worker threads (piscina), so they never
 * block the event loop. Aborting a run terminates its thread; piscina replaces dead threads. Threads
 * start on first use.
 */
export class TaskPool {
  readonly threads: number;
  #options: TaskPoolOptions;
  #piscina: Piscina<PoolRequest, PoolReply> | undefined;
  #closed = false;
  #broken: Broken | undefined;
  /** The file the threads of the current piscina were loading last (cleared once they have loaded). */
  #loading: string | undefined;
  /** Load failures already reported for the current plugin set. */
  readonly #reportedFailures = new Set<string>();

  constructor(options: TaskPoolOptions = {}) {
    this.threads = Math.max(1, options.threads ?? availableParallelism());
    this.#options = options;
  }

  /** Tasks running or queued in the pool. */
  get busy(): number {
    const piscina = this.#piscina;
    return piscina ? piscina.queueSize + piscina.threads.length - piscina.idleThreads : 0;
  }

  /**
   * Runs task `name` on a worker. Resolves with its result; rejects with InvalidArgumentsError /
   * TaskExecutionError as the inline run would, or with the signal's reason when aborted.
   */
  async run(name: string, args: readonly ArgValue[], ctx: TaskContext): Promise<string> {
    if (this.#closed) throw new TaskExecutionError('worker pool is closed');
    const broken = this.#brokenNow();
    if (broken) throw brokenError(broken);
    const request: PoolRequest = { name, taskId: ctx.taskId, attempt: ctx.attempt, args, dependencyResults: [...ctx.dependencyResults] };
    let reply: PoolReply;
    try {
      reply = await this.#pool().run(request, { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      if (this.#broken) throw brokenError(this.#broken);
      throw new TaskExecutionError(
        `worker thread died while running '${name}' (${err instanceof Error ? err.message : String(err)}; the thread was replaced)`,
        { cause: err },
      );
    }
    if (reply.ok) return reply.result;
    if (reply.invalidArguments) throw new InvalidArgumentsError(reply.message);
    throw reply.permanent ? new PermanentError(reply.message) : new TaskExecutionError(reply.message);
  }

  /**
   * Switches the plugins workers load (after a plugin load/unload/reload): the current threads
   * finish what they run and retire; new threads start with the new files on the next task.
   */
  setPlugins(plugins: readonly PluginSnapshot[]): void {
    this.#options = { ...this.#options, plugins: plugins.map(({ file, code }) => (code === undefined ? { file } : { file, code })) };
    const retiring = this.#piscina;
    this.#piscina = undefined;
    // New code: the next task tries fresh threads, and load failures are reported again.
    this.#broken = undefined;
    this.#reportedFailures.clear();
    void retiring?.close().catch(() => undefined);
  }

  /** Stops every worker (running tasks are cut). */
  async close(): Promise<void> {
    this.#closed = true;
    const piscina = this.#piscina;
    this.#piscina = undefined;
    if (piscina) await piscina.destroy();
  }

  #pool(): Piscina<PoolRequest, PoolReply> {
    if (!this.#piscina) {
      const workerData: PoolWorkerData = { plugins: this.#options.plugins ?? [], taskModules: this.#options.taskModules ?? [] };
      const maxMemoryMb = this.#options.maxMemoryMb ?? 0;
      this.#piscina = new Piscina<PoolRequest, PoolReply>({
        filename: workerScript(),
        minThreads: this.threads,
        maxThreads: this.threads,
        idleTimeout: 60_000,
        workerData,
        ...(maxMemoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: maxMemoryMb } } : {}),
      });
      // Without a listener, an 'error' event (a worker failing outside any task) would throw.
      const onError = this.#options.onError ?? (() => undefined);
      const piscina = this.#piscina;
      this.#loading = undefined;
      piscina.on('error', onError);
      piscina.on('message', (message: unknown) => this.#onStartMessage(piscina, message));
      // A thread is gone: piscina replaces it, unless threads die while starting; then it stops
      // creating them and queued tasks would wait forever. Checked once piscina has had its turn.
      piscina.on('workerDestroy', () => setImmediate(() => this.#checkAlive(piscina)));
    }
    return this.#piscina;
  }

  #onStartMessage(piscina: Piscina<PoolRequest, PoolReply>, message: unknown): void {
    if (piscina !== this.#piscina || !isPoolStartMessage(message)) return;
    if (message.taskSchedulerStart === 'loading') {
      this.#loading = message.file;
      return;
    }
    this.#loading = undefined;
    for (const [file, reason] of message.failures) {
      if (this.#reportedFailures.has(file)) continue;
      this.#reportedFailures.add(file);
      this.#options.onLoadFailure?.(file, reason);
    }
  }

  #checkAlive(piscina: Piscina<PoolRequest, PoolReply>): void {
    if (piscina !== this.#piscina || this.#closed || piscina.threads.length > 0) return;
    const reason = `worker threads die while starting (${this.#loading ? `while loading ${this.#loading}` : `after loading ${this.#loadedFiles()}`})`;
    this.#broken = { reason, until: Date.now() + (this.#options.brokenRetryMs ?? 10_000) };
    this.#piscina = undefined;
    this.#options.onBroken?.(reason);
    // Fails the tasks queued in it (with the reason above, see run).
    void piscina.destroy().catch(() => undefined);
  }

  /** The plugins and task modules the threads load, for the report of a pool whose threads all died (at most 5 named). */
  #loadedFiles(): string {
    const files = [...(this.#options.plugins ?? []).map((plugin) => plugin.file), ...(this.#options.taskModules ?? [])];
    if (files.length === 0) return 'only the built-in tasks';
    return files.slice(0, 5).join(', ') + (files.length > 5 ? ` and ${files.length - 5} more` : '');
  }

  #brokenNow(): Broken | undefined {
    if (this.#broken && Date.now() >= this.#broken.until) this.#broken = undefined;
    return this.#broken;
  }
}

/** The error of a worker task while the pool is broken: permanent, a retry cannot mend it. */
function brokenError(broken: Broken): PermanentError {
  return new PermanentError(`no worker thread can run it: ${broken.reason}; fix or unload that plugin/module`);
}

/**
 * The compiled worker script. Workers load plain JS: under ts-jest (sources in .ts) this resolves to
 * the build in dist/, which `npm test` produces first.
 */
export function workerScript(): string {
  const beside = path.join(__dirname, 'task-worker.js');
  if (existsSync(beside)) return beside;
  const built = path.resolve(__dirname, '../../../dist/src/tasks/pool/task-worker.js');
  if (existsSync(built)) return built;
  throw new Error(`worker script not found at ${beside} or ${built}: run \`npm run build\``);
}
