/**
 * The worker-thread side of the task pool (loaded by piscina, compiled JS only). It builds its own
 * registry the way the main thread does — built-ins, plugins, user task modules — and runs sync tasks
 * by name, so a task behaves the same inline and pooled.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { describeThrown, InvalidArgumentsError, PermanentError } from '../../errors';
import { loadPlugin } from '../../plugins/load-plugins';
import { registerBuiltinTasks } from '../builtins';
import { loadTaskModule } from '../load-task-module';
import type { TaskContext } from '../task-context';
import { defaultRegistry } from '../task-registry';
import { POOL_THREAD_NICE, reviveArgs, type PoolReply, type PoolRequest, type PoolStartMessage, type PoolWorkerData } from './pool-protocol';

/** Lowers this thread's CPU priority to {@link POOL_THREAD_NICE} (Linux: setpriority on the thread id). */
function lowerThreadPriority(): void {
  try {
    // "/proc/thread-self" links to "<pid>/task/<tid>"; on Linux setpriority(PRIO_PROCESS, tid) is per thread.
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, POOL_THREAD_NICE);
  } catch {
    // No /proc (not Linux) or not permitted: the thread keeps the default priority.
  }
}

lowerThreadPriority();
const data = workerData as PoolWorkerData;
const registry = defaultRegistry;
/** Why a plugin or module could not load here, by file: its tasks then answer with this reason. */
const loadFailures = new Map<string, string>();

/**
 * Loads one plugin or task module; never throws. A `process.exit` while loading (a plugin that means to
 * run only on the main thread, or a hostile one) would end this thread before piscina counts it as
 * started, and piscina stops replacing threads that die while starting: every later worker task would
 * wait forever. So during the load `process.exit` throws instead, and the file fails like any other.
 */
function loadGuarded(file: string, load: () => void): void {
  const post = (message: PoolStartMessage) => parentPort?.postMessage(message);
  post({ taskSchedulerStart: 'loading', file });
  const exit = process.exit;
  process.exit = ((code?: number | string | null) => {
    throw new Error(`called process.exit(${code ?? ''}) while loading in a worker thread`);
  }) as typeof process.exit;
  try {
    load();
  } catch (err) {
    loadFailures.set(file, describeThrown(err));
  } finally {
    process.exit = exit;
  }
}

// Loading never throws: a failure here would make piscina retry this script in a thread whose module
// cache already holds the built-ins. A plugin that fails only costs its own tasks.
if (!registry.has('add')) registerBuiltinTasks(registry);
for (const plugin of data.plugins) loadGuarded(plugin.file, () => loadPlugin(plugin.file, registry, plugin.code));
// The same loader as the main thread's (TypeScript, 'task-scheduler' resolving to this build).
for (const module of data.taskModules) loadGuarded(module, () => loadTaskModule(module));
parentPort?.postMessage({ taskSchedulerStart: 'loaded', failures: [...loadFailures] } satisfies PoolStartMessage);

/** Never fires: a pooled task is stopped by terminating its thread. */
const NEVER = new AbortController().signal;
const NEVER_UNSUBSCRIBE = (): void => {};

/** Runs one pooled task. Never throws: failures are answered as data. */
export default function runPooledTask(request: PoolRequest): PoolReply {
  const definition = registry.get(request.name);
  if (!definition || definition.kind !== 'sync') {
    return {
      ok: false,
      invalidArguments: false,
      message: `task '${request.name}' is not available in worker threads${
        loadFailures.size > 0
          ? `: failed to load there: ${[...loadFailures].map(([file, why]) => `${file}: ${why}`).join('; ')}`
          : ' (load its module with --task-module)'
      }`,
    };
  }
  const ctx: TaskContext = {
    taskId: request.taskId,
    method: request.name,
    attempt: request.attempt,
    dependencyResults: new Map(request.dependencyResults),
    signal: NEVER,
    onAbort: () => NEVER_UNSUBSCRIBE,
  };
  try {
    const result: unknown = definition.fn(reviveArgs(request.args), ctx);
    if (typeof result !== 'string') {
      return { ok: false, invalidArguments: false, message: `task '${request.name}' returned ${result === null ? 'null' : typeof result}, expected a string` };
    }
    return { ok: true, result };
  } catch (err) {
    if (err instanceof InvalidArgumentsError) return { ok: false, invalidArguments: true, message: err.detail };
    if (err instanceof PermanentError) return { ok: false, invalidArguments: false, permanent: true, message: err.detail };
    return { ok: false, invalidArguments: false, message: describeThrown(err) };
  }
}
