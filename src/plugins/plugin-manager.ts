import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describeThrown } from '../errors';
import type { Logger } from '../logging/logger';
import type { TaskRegistry } from '../tasks/task-registry';
import { loadPlugin, pluginNameOf, PLUGIN_EXTENSIONS, type LoadedPlugin, type PluginSnapshot } from './load-plugins';

/** The outcome of {@link PluginManager.reload}. */
export interface ReloadReport {
  readonly loaded: readonly LoadedPlugin[];
  readonly failed: ReadonlyArray<{ readonly file: string; readonly error: string }>;
}

/**
 * The plugins of one library directory, loadable and unloadable at run time (the console's `load`,
 * `unload`, `reload`). Each change is reported to `onChange` with the loaded plugins (file and the
 * source read at load), so worker threads restart with exactly the same code.
 */
export class PluginManager {
  /** The absolute library directory; '' when there is none (`--library-dir ''`: no plugins, ever). */
  readonly dir: string;
  readonly #registry: TaskRegistry;
  readonly #logger: Logger;
  readonly #onChange: (plugins: readonly PluginSnapshot[]) => void;
  readonly #loaded = new Map<string, LoadedPlugin>();

  constructor(dir: string, registry: TaskRegistry, logger: Logger, onChange: (plugins: readonly PluginSnapshot[]) => void = () => undefined) {
    // Resolving '' would name the working directory: "empty: none" must stay none, reload included.
    this.dir = dir === '' ? '' : path.resolve(dir);
    this.#registry = registry;
    this.#logger = logger.child({ component: 'plugins' });
    this.#onChange = onChange;
  }

  /** Loaded plugins, by name. */
  list(): LoadedPlugin[] {
    return [...this.#loaded.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Files of the loaded plugins. */
  files(): string[] {
    return this.list().map((plugin) => plugin.file);
  }

  /** Plugin files in the directory (loaded or not). */
  available(): string[] {
    if (this.dir === '') return [];
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) return [];
    return readdirSync(this.dir)
      .filter((entry) => PLUGIN_EXTENSIONS.has(path.extname(entry)) && !entry.endsWith('.d.ts'))
      .sort()
      .map((entry) => path.join(this.dir, entry));
  }

  /**
   * Loads every plugin in the directory that is not loaded yet. A missing directory is a warning; a
   * plugin that fails is logged and skipped.
   */
  loadAll(): ReloadReport {
    if (this.dir === '') return { loaded: [], failed: [] };
    if (!existsSync(this.dir) || !statSync(this.dir).isDirectory()) {
      this.#logger.warn('plugin directory not found; no plugins loaded', { dir: this.dir });
      return { loaded: [], failed: [] };
    }
    const loaded: LoadedPlugin[] = [];
    const failed: Array<{ file: string; error: string }> = [];
    for (const file of this.available()) {
      const taken = this.#loaded.get(pluginNameOf(file));
      if (taken?.file === file) continue;
      if (taken) {
        const error = `plugin name '${taken.name}' is already taken by ${path.basename(taken.file)}`;
        failed.push({ file, error });
        this.#logger.error('plugin skipped', { file, error });
        continue;
      }
      try {
        loaded.push(this.#loadFile(file));
      } catch (err) {
        failed.push({ file, error: describeThrown(err) });
        this.#logger.error('plugin failed to load; skipped', { file, err });
      }
    }
    if (loaded.length > 0) this.#onChange(this.list());
    return { loaded, failed };
  }

  /** Loads the plugin called `name` from the directory; throws with the reason when it cannot. */
  load(name: string): LoadedPlugin {
    if (this.#loaded.has(name)) throw new Error(`plugin '${name}' is already loaded (use reload to pick up changes)`);
    if (this.dir === '') throw new Error(`no plugin '${name}': no plugin directory (--library-dir is empty)`);
    const file = this.available().find((candidate) => pluginNameOf(candidate) === name);
    if (!file) throw new Error(`no plugin '${name}' in ${this.dir}`);
    const plugin = this.#loadFile(file);
    this.#onChange(this.list());
    return plugin;
  }

  /** Unloads plugin `name`: its tasks are unregistered. Returns their names. */
  unload(name: string): readonly string[] {
    const plugin = this.#loaded.get(name);
    if (!plugin) throw new Error(`plugin '${name}' is not loaded`);
    this.#unloadPlugin(plugin);
    this.#onChange(this.list());
    return plugin.tasks;
  }

  /** Unloads every plugin and loads the directory again from disk (changed files are re-read). */
  reload(): ReloadReport {
    for (const plugin of this.list()) this.#unloadPlugin(plugin);
    const report = this.loadAll();
    if (report.loaded.length === 0) this.#onChange(this.list());
    return report;
  }

  #loadFile(file: string): LoadedPlugin {
    const plugin = loadPlugin(file, this.#registry);
    this.#loaded.set(plugin.name, plugin);
    this.#logger.info('plugin loaded', { plugin: plugin.name, tasks: plugin.tasks });
    return plugin;
  }

  #unloadPlugin(plugin: LoadedPlugin): void {
    for (const task of plugin.tasks) this.#registry.unregister(task);
    this.#loaded.delete(plugin.name);
    this.#logger.info('plugin unloaded', { plugin: plugin.name, tasks: plugin.tasks });
  }
}
