import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { BroadcastChannel } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Piscina } from 'piscina';
import type { ArgValue } from '../../args/arg-value';
import { InvalidArgumentsError, PermanentError, TaskExecutionError } from '../../errors';
import type { TaskContext } from '../task-context';
import type { PluginSnapshot } from '../../plugins/load-plugins';
import type { PoolProgress, PoolReply, PoolRequest, PoolWorkerData } from './pool-protocol';

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
  /** Contexts of the pooled tasks running now, by task id: where their workers' progress reports go. */
  readonly #running = new Map<string, TaskContext>();
  readonly #progressName = `task-scheduler-progress-${randomUUID()}`;
  #progress: BroadcastChannel | undefined;

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
    const request: PoolRequest = { name, taskId: ctx.taskId, attempt: ctx.attempt, args, dependencyResults: [...ctx.dependencyResults] };
    let reply: PoolReply;
    const pool = this.#pool();
    this.#running.set(ctx.taskId, ctx);
    try {
      reply = await pool.run(request, { signal: ctx.signal });
    } catch (err) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      throw new TaskExecutionError(`worker thread died while running '${name}': ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      if (this.#running.get(ctx.taskId) === ctx) this.#running.delete(ctx.taskId);
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
    void retiring?.close().catch(() => undefined);
  }

  /** Stops every worker (running tasks are cut). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#progress?.close();
    this.#progress = undefined;
    const piscina = this.#piscina;
    this.#piscina = undefined;
    if (piscina) await piscina.destroy();
  }

  #pool(): Piscina<PoolRequest, PoolReply> {
    if (!this.#piscina) {
      if (!this.#progress) {
        const channel = new BroadcastChannel(this.#progressName);
        channel.unref();
        channel.onmessage = (event: unknown) => {
          const report = (event as { data: PoolProgress }).data;
          const ctx = this.#running.get(report.taskId);
          if (ctx && ctx.attempt === report.attempt) ctx.progress(report.fraction, report.message);
        };
        this.#progress = channel;
      }
      const workerData: PoolWorkerData = { plugins: this.#options.plugins ?? [], taskModules: this.#options.taskModules ?? [], progressChannel: this.#progressName };
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
      this.#piscina.on('error', onError);
    }
    return this.#piscina;
  }
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
