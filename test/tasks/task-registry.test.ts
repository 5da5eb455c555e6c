/** Unit tests of the task registry and the registration API. */
import { syncTask, asyncTask, TaskRegistry, defaultRegistry } from '../../src/tasks/task-registry';
import { createBuiltinRegistry } from '../../src/app';

test('registers under the function name or options.name, with description and source', () => {
  const registry = new TaskRegistry();
  const fn = syncTask(function shout(args) {
    return String(args.length);
  }, { registry, description: 'counts' });
  asyncTask(async () => 'x', { registry, name: 'later' });
  expect(fn.name).toBe('shout');
  expect(registry.list().map(({ name, kind, description, source }) => ({ name, kind, description, source }))).toEqual([
    { name: 'later', kind: 'async', description: '', source: 'user' },
    { name: 'shout', kind: 'sync', description: 'counts', source: 'user' },
  ]);
  expect(registry.get('shout')?.fn).toBe(fn);
  expect(registry.has('later')).toBe(true);
  expect(registry.size).toBe(2);
});

test('a duplicate name fails at registration, across sync and async', () => {
  const registry = new TaskRegistry();
  syncTask(function twice() {
    return '';
  }, { registry });
  expect(() => asyncTask(async () => '', { registry, name: 'twice' })).toThrow("task 'twice' is already registered (sync, source user)");
  expect(() => createBuiltinRegistry().register({ name: 'add', kind: 'sync', fn: () => '', description: '', source: 'user' })).toThrow(
    "task 'add' is already registered (sync, source builtin)",
  );
});

test('invalid or missing names are refused with the name in the message', () => {
  const registry = new TaskRegistry();
  expect(() => syncTask(() => '', { registry, name: '' })).toThrow('task function has no name');
  expect(() => syncTask(() => '', { registry, name: 'has space' })).toThrow('task name "has space" is invalid');
  expect(() => syncTask(() => '', { registry, name: 'x'.repeat(201) })).toThrow(/is invalid/);
  expect(registry.size).toBe(0);
});

test('unregister removes a task', () => {
  const registry = new TaskRegistry();
  syncTask(function gone() {
    return '';
  }, { registry });
  expect(registry.unregister('gone')).toBe(true);
  expect(registry.unregister('gone')).toBe(false);
  expect(registry.get('gone')).toBeUndefined();
});

test('without options.registry, tasks go to the default registry', () => {
  const name = `default_${process.pid}_${Date.now()}`;
  syncTask(() => 'hi', { name });
  expect(defaultRegistry.get(name)?.source).toBe('user');
  defaultRegistry.unregister(name);
});
