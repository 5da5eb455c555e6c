import { readFileSync } from 'node:fs';
import { Module } from 'node:module';
import path from 'node:path';
import { InvalidArgumentsError, PermanentError } from '../errors';
import type { RetryPolicyInput } from '../tasks/retry-policy';
import { asyncTask, syncTask, type AsyncTaskFn, type SyncTaskFn, type TaskRegistry } from '../tasks/task-registry';

/** Options a plugin passes when registering a task. */
export interface PluginTaskOptions {
  readonly name?: string;
  readonly description?: string;
  /** Sync tasks only: CPU-bound, run on a worker thread (see `SyncTaskOptions.worker`). */
  readonly worker?: boolean;
  /** Retry policy of requests that name none (see `TaskOptions.retry`). */
  readonly retry?: RetryPolicyInput;
}

/** What a plugin module receives: registration functions scoped to the plugin, and the error class. */
export interface PluginApi {
  /** The plugin's name (its file name without extension and leading `lib`). */
  readonly pluginName: string;
  syncTask(fn: SyncTaskFn, options?: PluginTaskOptions): void;
  asyncTask(fn: AsyncTaskFn, options?: PluginTaskOptions): void;
  readonly InvalidArgumentsError: typeof InvalidArgumentsError;
  /** Throw it for a failure no retry can mend: the task fails at once, whatever its retry policy. */
  readonly PermanentError: typeof PermanentError;
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
  /**
   * The CommonJS source as it was read at load time. Worker threads compile this same text, so they
   * run exactly the code the main thread loaded even if the file has changed since. Absent for ES
   * modules (.mjs), which Node loads from the file.
   */
  readonly code?: string;
}

/** What a worker needs to load a plugin as the main thread did. */
export type PluginSnapshot = Pick<LoadedPlugin, 'file' | 'code'>;

/** Reads a plugin's source for {@link loadPlugin} (undefined for ES modules). */
export function readPluginSource(file: string): string | undefined {
  return path.extname(file) === '.mjs' ? undefined : readFileSync(file, 'utf8');
}

interface CompilableModule {
  filename: string;
  paths: string[];
  exports: unknown;
  _compile(code: string, filename: string): void;
}
type ModuleInternals = { new (id: string, parent?: unknown): CompilableModule; _nodeModulePaths(dir: string): string[] };

/**
 * Evaluates a plugin: CommonJS source through a fresh Module (relative requires resolve from the
 * file's directory, no require cache involved, so a reload reads what is on disk now); ES modules
 * through require.
 */
function evaluatePlugin(file: string, code: string | undefined): unknown {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (code === undefined) return require(file);
  const Internals = Module as unknown as ModuleInternals;
  const compiled = new Internals(file, module);
  compiled.filename = file;
  compiled.paths = Internals._nodeModulePaths(path.dirname(file));
  compiled._compile(code, file);
  return compiled.exports;
}

/** File endings loaded as plugins. */
export const PLUGIN_EXTENSIONS: ReadonlySet<string> = new Set(['.js', '.cjs', '.mjs']);

/** Plugin name of a file: its base name without extension and without a leading `lib`. */
export function pluginNameOf(file: string): string {
  const base = path.basename(file, path.extname(file));
  return base.startsWith('lib') && base.length > 3 ? base.slice(3) : base;
}

/**
 * Loads one plugin from `code` (default: the file as it is now); throws (after undoing its
 * registrations) if it cannot.
 */
export function loadPlugin(file: string, registry: TaskRegistry, code: string | undefined = readPluginSource(file)): LoadedPlugin {
  const name = pluginNameOf(file);
  const registered: string[] = [];
  const source = `plugin:${name}` as const;
  const scoped = (fn: { name: string }, options?: PluginTaskOptions) => {
    const task = options?.name ?? fn.name;
    if (!task) throw new TypeError(`plugin '${name}': task function has no name`);
    return { name: `${name}::${task}`, description: options?.description ?? '', source, registry, ...(options?.retry ? { retry: options.retry } : {}) };
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
    PermanentError,
  };
  try {
    const exported: unknown = evaluatePlugin(file, code);
    const plugin = typeof exported === 'function' ? exported : (exported as { default?: unknown } | null)?.default;
    if (typeof plugin !== 'function') {
      throw new TypeError(`plugin '${name}' (${file}) must export a function (api) => void, got ${typeof exported}`);
    }
    (plugin as TaskPlugin)(api);
  } catch (err) {
    for (const task of registered) registry.unregister(task);
    throw err;
  }
  return code === undefined ? { name, file, tasks: registered } : { name, file, tasks: registered, code };
}
