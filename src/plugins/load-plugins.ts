import path from 'node:path';
import { InvalidArgumentsError } from '../errors';
import { asyncTask, syncTask, type AsyncTaskFn, type SyncTaskFn, type TaskRegistry } from '../tasks/task-registry';

/** Options a plugin passes when registering a task. */
export interface PluginTaskOptions {
  readonly name?: string;
  readonly description?: string;
  /** Sync tasks only: CPU-bound, run on a worker thread (see `SyncTaskOptions.worker`). */
  readonly worker?: boolean;
}

/** What a plugin module receives: registration functions scoped to the plugin, and the error class. */
export interface PluginApi {
  /** The plugin's name (its file name without extension and leading `lib`). */
  readonly pluginName: string;
  syncTask(fn: SyncTaskFn, options?: PluginTaskOptions): void;
  asyncTask(fn: AsyncTaskFn, options?: PluginTaskOptions): void;
  readonly InvalidArgumentsError: typeof InvalidArgumentsError;
}

/**
 * A plugin module's export (CommonJS `module.exports = …` or a `default` export): called once at
 * load with a {@link PluginApi}; its tasks register as `<plugin>::<task>`.
 */
export type TaskPlugin = (api: PluginApi) => void;

/** A loaded plugin. */
export interface LoadedPlugin {
  readonly name: string;
  readonly file: string;
  readonly tasks: readonly string[];
}

/** File endings loaded as plugins. */
export const PLUGIN_EXTENSIONS: ReadonlySet<string> = new Set(['.js', '.cjs', '.mjs']);

/** Plugin name of a file: its base name without extension and without a leading `lib`. */
export function pluginNameOf(file: string): string {
  const base = path.basename(file, path.extname(file));
  return base.startsWith('lib') && base.length > 3 ? base.slice(3) : base;
}

/** Loads one plugin file; throws (after undoing its registrations) if it cannot. */
export function loadPlugin(file: string, registry: TaskRegistry): LoadedPlugin {
  const name = pluginNameOf(file);
  const registered: string[] = [];
  const source = `plugin:${name}` as const;
  const scoped = (fn: { name: string }, options?: PluginTaskOptions) => {
    const task = options?.name ?? fn.name;
    if (!task) throw new TypeError(`plugin '${name}': task function has no name`);
    return { name: `${name}::${task}`, description: options?.description ?? '', source, registry };
  };
  const api: PluginApi = {
    pluginName: name,
    syncTask: (fn, options) => {
      const opts = scoped(fn, options);
      syncTask(fn, { ...opts, worker: options?.worker ?? false });
      registered.push(opts.name);
    },
    asyncTask: (fn, options) => {
      const opts = scoped(fn, options);
      asyncTask(fn, opts);
      registered.push(opts.name);
    },
    InvalidArgumentsError,
  };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exported: unknown = require(file);
    const plugin = typeof exported === 'function' ? exported : (exported as { default?: unknown } | null)?.default;
    if (typeof plugin !== 'function') {
      throw new TypeError(`plugin '${name}' (${file}) must export a function (api) => void, got ${typeof exported}`);
    }
    (plugin as TaskPlugin)(api);
  } catch (err) {
    for (const task of registered) registry.unregister(task);
    throw err;
  }
  return { name, file, tasks: registered };
}
