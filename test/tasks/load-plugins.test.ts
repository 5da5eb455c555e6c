/** The plugin loader: names, scoping, and bad plugins that must not stop the others. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pluginNameOf } from '../../src/plugins/load-plugins';
import { PluginManager } from '../../src/plugins/plugin-manager';
import { TaskRegistry } from '../../src/tasks/task-registry';
import type { Logger } from '../../src/logging/logger';

function recordingLogger(): Logger & { lines: Array<[string, string, Record<string, unknown> | undefined]> } {
  const lines: Array<[string, string, Record<string, unknown> | undefined]> = [];
  const logger = {
    lines,
    error: (message: string, meta?: Record<string, unknown>) => lines.push(['error', message, meta]),
    warn: (message: string, meta?: Record<string, unknown>) => lines.push(['warn', message, meta]),
    info: (message: string, meta?: Record<string, unknown>) => lines.push(['info', message, meta]),
    debug: () => undefined,
    child: () => logger,
    isDebugEnabled: () => false,
  };
  return logger;
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-plugins-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('plugin names drop the extension and a leading "lib"', () => {
  expect(pluginNameOf('/x/libplugin_example.js')).toBe('plugin_example');
  expect(pluginNameOf('/x/plugin_example.cjs')).toBe('plugin_example');
  expect(pluginNameOf('/x/lib.js')).toBe('lib');
});

test('loads good plugins as <plugin>::<task>; skips broken ones, undoing their partial registrations', () => {
  writeFileSync(path.join(dir, 'libgood.js'), `module.exports = (api) => { api.syncTask(function hi() { return 'hi'; }, { description: 'd' }); };`);
  writeFileSync(path.join(dir, 'syntax.js'), `module.exports = (api) => {`);
  writeFileSync(path.join(dir, 'throws.js'), `module.exports = (api) => { api.syncTask(function first() { return ''; }); throw new Error('nope'); };`);
  writeFileSync(path.join(dir, 'dupe.js'), `module.exports = (api) => { api.syncTask(function a() { return ''; }); api.syncTask(function a() { return ''; }); };`);
  writeFileSync(path.join(dir, 'notfn.js'), `module.exports = 42;`);
  writeFileSync(path.join(dir, 'readme.txt'), `not a plugin`);
  const registry = new TaskRegistry();
  const logger = recordingLogger();
  const report = new PluginManager(dir, registry, logger).loadAll();
  expect(report.loaded.map((p) => p.name)).toEqual(['good']);
  expect(report.failed.map((f) => path.basename(f.file)).sort()).toEqual(['dupe.js', 'notfn.js', 'syntax.js', 'throws.js']);
  expect(registry.list().map((t) => [t.name, t.source, t.description])).toEqual([['good::hi', 'plugin:good', 'd']]);
  const failures = logger.lines.filter(([level]) => level === 'error').map(([, , meta]) => path.basename(String(meta?.['file'])));
  expect(failures.sort()).toEqual(['dupe.js', 'notfn.js', 'syntax.js', 'throws.js']);
});

test('a missing directory is a warning, not a failure', () => {
  const logger = recordingLogger();
  expect(new PluginManager(path.join(dir, 'absent'), new TaskRegistry(), logger).loadAll()).toEqual({ loaded: [], failed: [] });
  expect(logger.lines).toEqual([['warn', 'plugin directory not found; no plugins loaded', { dir: path.join(dir, 'absent') }]]);
});
