/**
 * PluginManager at unit level: load / unload / reload semantics, their error messages, and what
 * `onChange` (the worker-thread restart) is told.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/logging/logger';
import { PluginManager } from '../../src/plugins/plugin-manager';
import { TaskRegistry } from '../../src/tasks/task-registry';
import { ROOT } from '../helpers/cli';

let dir: string;
let registry: TaskRegistry;
let changes: string[][];
let manager: PluginManager;

/** A plugin whose tasks (all sync) each return `<task> <text>`. */
function writePlugin(file: string, tasks: readonly string[], text = 'v1'): string {
  const full = path.join(dir, file);
  const body = tasks.map((task) => `api.syncTask(function ${task}() { return '${task} ${text}'; });`).join(' ');
  writeFileSync(full, `module.exports = (api) => { ${body} };`);
  return full;
}

/** Runs a registered sync task with no arguments. */
function run(name: string): string {
  const definition = registry.get(name);
  if (!definition || definition.kind !== 'sync') throw new Error(`no sync task ${name}`);
  return definition.fn([], { taskId: 't', method: name, attempt: 1, dependencyResults: new Map(), signal: new AbortController().signal, onAbort: () => () => undefined, progress: () => undefined });
}

beforeEach(() => {
  // A fresh directory per test: jest's module registry caches each path for the whole file.
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-plugin-manager-'));
  registry = new TaskRegistry();
  changes = [];
  manager = new PluginManager(dir, registry, silentLogger, (loaded) => changes.push(loaded.map((plugin) => plugin.file)));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('loadAll loads every plugin file once and reports the files to onChange once', () => {
  const alpha = writePlugin('alpha.js', ['one']);
  const beta = writePlugin('libbeta.cjs', ['two', 'three']);
  writeFileSync(path.join(dir, 'notes.txt'), 'not a plugin');
  writeFileSync(path.join(dir, 'types.d.ts'), 'export {};');

  const report = manager.loadAll();
  expect(report.failed).toEqual([]);
  expect(report.loaded).toMatchObject([
    { name: 'alpha', file: alpha, tasks: ['alpha::one'] },
    { name: 'beta', file: beta, tasks: ['beta::two', 'beta::three'] },
  ]);
  expect(registry.list().map((task) => [task.name, task.source])).toEqual([
    ['alpha::one', 'plugin:alpha'],
    ['beta::three', 'plugin:beta'],
    ['beta::two', 'plugin:beta'],
  ]);
  expect(manager.files()).toEqual([alpha, beta]);
  expect(changes).toEqual([[alpha, beta]]);
  expect(run('beta::two')).toBe('two v1');

  // Nothing new: nothing loaded, workers not restarted.
  expect(manager.loadAll()).toEqual({ loaded: [], failed: [] });
  expect(changes).toHaveLength(1);
});

test('unload removes a plugin and its tasks; load brings it back; each tells onChange', () => {
  const alpha = writePlugin('alpha.js', ['one']);
  const beta = writePlugin('beta.js', ['two']);
  manager.loadAll();
  changes.length = 0;

  expect(manager.unload('alpha')).toEqual(['alpha::one']);
  expect(registry.has('alpha::one')).toBe(false);
  expect(manager.list().map((plugin) => plugin.name)).toEqual(['beta']);
  expect(changes).toEqual([[beta]]);

  expect(manager.load('alpha')).toEqual({ name: 'alpha', file: alpha, tasks: ['alpha::one'], code: expect.stringContaining('one v1') });
  expect(run('alpha::one')).toBe('one v1');
  expect(changes).toEqual([[beta], [alpha, beta]]);
});

test('load and unload name the problem, change nothing and do not restart workers', () => {
  writePlugin('alpha.js', ['one']);
  manager.loadAll();
  changes.length = 0;
  const before = registry.list().map((task) => task.name);

  expect(() => manager.load('alpha')).toThrow("plugin 'alpha' is already loaded (use reload to pick up changes)");
  expect(() => manager.load('x')).toThrow(`no plugin 'x' in ${path.resolve(dir)}`);
  expect(() => manager.load('libalpha')).toThrow(`no plugin 'libalpha' in ${path.resolve(dir)}`);
  expect(() => manager.unload('x')).toThrow("plugin 'x' is not loaded");
  writePlugin('gamma.js', ['g']);
  manager.unload('alpha');
  expect(() => manager.unload('alpha')).toThrow("plugin 'alpha' is not loaded");

  expect(changes).toHaveLength(1); // only the successful unload
  expect(registry.list().map((task) => task.name)).toEqual(before.filter((name) => name !== 'alpha::one'));
});

test('load finds a file added after start, and a plugin that throws leaves no task behind', () => {
  manager.loadAll();
  const gamma = writePlugin('libgamma.js', ['g']);
  expect(manager.load('gamma').tasks).toEqual(['gamma::g']);
  expect(changes.at(-1)).toEqual([gamma]);

  writeFileSync(path.join(dir, 'bad.js'), `module.exports = (api) => { api.syncTask(function partial() { return ''; }); throw new Error('bad at load'); };`);
  const calls = changes.length;
  expect(() => manager.load('bad')).toThrow('bad at load');
  expect(registry.has('bad::partial')).toBe(false);
  expect(manager.list().map((plugin) => plugin.name)).toEqual(['gamma']);
  expect(changes).toHaveLength(calls);
});

test('reload loads the directory again: new files in, removed files out, failures reported', () => {
  const alpha = writePlugin('alpha.js', ['one']);
  const beta = writePlugin('beta.js', ['two']);
  manager.loadAll();
  changes.length = 0;

  rmSync(beta);
  const gamma = writePlugin('gamma.js', ['g']);
  const broken = path.join(dir, 'broken.js');
  writeFileSync(broken, `module.exports = (api) => { api.syncTask(function early() { return ''; }); throw new Error('broken at load'); };`);
  const notFunction = path.join(dir, 'number.js');
  writeFileSync(notFunction, 'module.exports = 42;');

  const report = manager.reload();
  expect(report.loaded.map((plugin) => plugin.name)).toEqual(['alpha', 'gamma']);
  expect(report.failed).toEqual([
    { file: broken, error: 'broken at load' },
    { file: notFunction, error: `plugin 'number' (${notFunction}) must export a function (api) => void, got number` },
  ]);
  expect(registry.list().map((task) => task.name)).toEqual(['alpha::one', 'gamma::g']);
  expect(manager.files()).toEqual([alpha, gamma]);
  expect(changes).toEqual([[alpha, gamma]]); // once, with the good files only
});

test('reload where nothing loads still tells onChange (workers drop every plugin)', () => {
  const alpha = writePlugin('alpha.js', ['one']);
  manager.loadAll();
  rmSync(alpha);
  writeFileSync(path.join(dir, 'syntax.js'), 'module.exports = (api) => {');
  const report = manager.reload();
  expect(report.loaded).toEqual([]);
  expect(report.failed.map((failure) => path.basename(failure.file))).toEqual(['syntax.js']);
  expect(registry.size).toBe(0);
  expect(changes).toEqual([[alpha], []]);
});

test('a missing directory: load names it, reload and loadAll load nothing', () => {
  const missing = path.join(dir, 'absent');
  const absent = new PluginManager(missing, registry, silentLogger, (loaded) => changes.push(loaded.map((plugin) => plugin.file)));
  expect(() => absent.load('x')).toThrow(`no plugin 'x' in ${missing}`);
  expect(absent.loadAll()).toEqual({ loaded: [], failed: [] });
  expect(absent.reload()).toEqual({ loaded: [], failed: [] });
  expect(absent.available()).toEqual([]);
});

/**
 * Under jest, `require.cache` is a read-only view of jest's own module registry, so the manager's
 * cache clearing cannot be observed in-process; this runs the built manager in a plain Node process.
 */
test('reload and load-after-unload re-read changed files (real Node require cache)', async () => {
  writePlugin('alpha.js', ['one'], 'v1');
  const script = `
    const fs = require('node:fs');
    const { PluginManager } = require('./dist/src/plugins/plugin-manager');
    const { TaskRegistry } = require('./dist/src/tasks/task-registry');
    const { silentLogger } = require('./dist/src/logging/logger');
    const [dir] = process.argv.slice(1);
    const registry = new TaskRegistry();
    const manager = new PluginManager(dir, registry, silentLogger);
    const out = [];
    const run = () => out.push(registry.get('alpha::one').fn([], {}));
    manager.loadAll(); run();
    fs.writeFileSync(dir + '/alpha.js', "module.exports = (api) => { api.syncTask(function one() { return 'one v2'; }); };"); run();
    manager.reload(); run();
    fs.writeFileSync(dir + '/alpha.js', "module.exports = (api) => { api.syncTask(function one() { return 'one v3'; }); };");
    manager.unload('alpha'); manager.load('alpha'); run();
    console.log(JSON.stringify(out));
  `;
  const stdout = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['-e', script, dir], { cwd: ROOT, timeout: 30_000 }, (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out))),
  );
  expect(JSON.parse(stdout)).toEqual(['one v1', 'one v1', 'one v2', 'one v3']);
});

test('two files with the same plugin name: the second is reported, not silently skipped', () => {
  const first = writePlugin('alpha.js', ['one']);
  const second = path.join(dir, 'libalpha.js');
  writeFileSync(second, `module.exports = (api) => { api.syncTask(function other() { return ''; }); };`);
  const report = manager.loadAll();
  expect(report.loaded.map((plugin) => plugin.file)).toEqual([first]);
  expect(report.failed).toEqual([{ file: second, error: "plugin name 'alpha' is already taken by alpha.js" }]);
});
