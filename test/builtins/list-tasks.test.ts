/** ListTasks (SPEC §1, §5c): every built-in and the example plugin's tasks, with kind, source, description. */
import type { TaskInfo } from '../../generated/taskscheduler/task_scheduler';
import { startTestServer, type TestServer } from '../helpers/start-server';

let server: TestServer;
let tasks: TaskInfo[];
beforeAll(async () => {
  server = await startTestServer();
  tasks = (await server.client.listTasks({})).tasks;
});
afterAll(() => server.close());

/** SPEC §5a and §5b: name → is_async. */
const BUILTINS: Readonly<Record<string, boolean>> = {
  add: false,
  remove: false,
  delete: true,
  process_collection: false,
  echo_bool: false,
  echo_string: false,
  echo_bytes: false,
  process_nested_list: false,
  process_complex_map: false,
  process_person_map: false,
  ping: false,
  sum_list: false,
  fibonacci: true,
  echo: false,
  concat: false,
  fail: false,
  fib: false,
  sleep: true,
  long_running_task: true,
};

const PLUGIN_TASKS: Readonly<Record<string, boolean>> = {
  'plugin_example::multiply': false,
  'plugin_example::delayed_echo': true,
};

function find(name: string): TaskInfo | undefined {
  return tasks.find((task) => task.name === name);
}

test('task names are unique', () => {
  expect(new Set(tasks.map((task) => task.name)).size).toBe(tasks.length);
});

test.each(Object.entries(BUILTINS))('built-in %s (is_async=%s) is listed with source "builtin"', (name, isAsync) => {
  expect(find(name)).toEqual({ name, isAsync, source: 'builtin', description: expect.stringMatching(/\S/) });
});

test.each(Object.entries(PLUGIN_TASKS))('plugin task %s (is_async=%s) is listed with source "plugin:plugin_example"', (name, isAsync) => {
  expect(find(name)).toEqual({ name, isAsync, source: 'plugin:plugin_example', description: expect.stringMatching(/\S/) });
});

test('the built-ins are exactly those of SPEC §5a and §5b', () => {
  const builtins = tasks.filter((task) => task.source === 'builtin').map((task) => task.name);
  expect([...builtins].sort()).toEqual(Object.keys(BUILTINS).sort());
});

test('the example plugin registers exactly its two tasks', () => {
  const pluginTasks = tasks.filter((task) => task.source === 'plugin:plugin_example').map((task) => task.name);
  expect([...pluginTasks].sort()).toEqual(Object.keys(PLUGIN_TASKS).sort());
});
