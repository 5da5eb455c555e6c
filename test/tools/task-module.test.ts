/**
 * Writing tasks in TypeScript (`--task-module`), as the README's "Writing a task" shows it: the README's
 * snippets are examples/tasks.ts and examples/client.ts, whole; the task module is loaded by the real
 * CLI from a directory outside the repository (where 'task-scheduler' resolves to nothing on disk), its
 * `worker: true` task runs in a worker thread that loads the same file, and the client example runs
 * against it. A module that cannot load is one line naming its path and the reason.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg } from '../../src/args/arg-value';
import { encodeArg, toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { assertBuilt, killCli, ROOT, run, runCli, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError, Status } from '../helpers/start-server';

jest.setTimeout(120_000);

const EXAMPLES = path.join(ROOT, 'examples');
const TSX = path.join(ROOT, 'node_modules/tsx/dist/cli.mjs');
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc');
let outside: string;

beforeAll(() => {
  assertBuilt();
  outside = mkdtempSync(path.join(os.tmpdir(), 'ts-task-module-'));
});
afterAll(() => rmSync(outside, { recursive: true, force: true }));

/** The ```ts blocks of the README. */
function readmeSnippets(): string[] {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

test.each(['tasks.ts', 'client.ts'])('the README shows examples/%s whole, as one snippet', (file) => {
  expect(readmeSnippets()).toContain(readFileSync(path.join(EXAMPLES, file), 'utf8'));
});

describe('examples/tasks.ts copied outside the repository, loaded by the CLI', () => {
  let cli: CliProcess | undefined;
  let connection: TaskSchedulerConnection | undefined;
  let tasksFile: string;
  beforeAll(async () => {
    const dir = path.join(outside, 'my-tasks');
    mkdirSync(dir);
    tasksFile = path.join(dir, 'tasks.ts');
    copyFileSync(path.join(EXAMPLES, 'tasks.ts'), tasksFile);
    cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', '', '--worker-threads', '1', '--task-module', tasksFile]);
    connection = createTaskSchedulerClient(cli.address);
  });
  afterAll(async () => {
    connection?.close();
    if (cli) expect(await cli.stop()).toBe(0);
    await killCli(cli);
  });

  test('its tasks register into the running server (listed with their descriptions)', async () => {
    const { tasks } = await connection!.client.listTasks({});
    const mine = tasks.filter((task) => task.source === 'user').map(({ name, isAsync, description }) => ({ name, isAsync, description }));
    expect(mine).toEqual([
      { name: 'count_primes', isAsync: false, description: 'How many primes are below n' },
      { name: 'greet', isAsync: false, description: 'Greets someone' },
      { name: 'join_deps', isAsync: true, description: "Joins its dependencies' results" },
      { name: 'sum_int64', isAsync: false, description: 'Exact sum of int64 arguments' },
    ]);
  });

  test('a sync task (ArgValue typed), its InvalidArgumentsError, and an exact 64-bit sum with Long', async () => {
    const { client } = connection!;
    expect((await client.submitTask({ method: 'greet', args: [toAny('Ada')] })).result).toBe('hello Ada');
    const err = await expectGrpcError(client.submitTask({ method: 'greet', args: [toAny(1)] }));
    expect([err.code, err.details]).toEqual([Status.INVALID_ARGUMENT, 'Invalid arguments: greet expects a string at args[0]']);
    const sum = await client.submitTask({ method: 'sum_int64', args: [encodeArg(arg.int64('9223372036854775806')), encodeArg(arg.int64(1))] });
    expect(sum.result).toBe('9223372036854775807');
  });

  test('the worker: true task runs in a worker thread, which loaded the same .ts file', async () => {
    const res = await connection!.client.submitTask({ method: 'count_primes', args: [toAny(100_000)] });
    expect(res).toMatchObject({ status: TaskResponse_Status.SUCCESS, result: '9592' });
  });

  test('the async task reads its dependencies from its context', async () => {
    const { client } = connection!;
    await client.submitTask({ taskId: 'dep-a', method: 'greet', args: [toAny('A')] });
    await client.submitTask({ taskId: 'dep-b', method: 'greet', args: [toAny('B')] });
    expect((await client.submitTask({ method: 'join_deps', deps: ['dep-a', 'dep-b'] })).result).toBe('hello A+hello B');
  });

  test('examples/client.ts prints what its comments say', async () => {
    const source = readFileSync(path.join(EXAMPLES, 'client.ts'), 'utf8');
    const expected = [...source.matchAll(/console\.log\(.*\/\/ (.+)$/gm)].map((match) => match[1]!.trim());
    expect(expected).toHaveLength(3);
    const res = await run(process.execPath, [TSX, path.join(EXAMPLES, 'client.ts'), cli!.address]);
    expect(res.stderr).toBe('');
    expect(res.stdout.trim().split('\n')).toEqual(expected);
    expect(res.status).toBe(0);
  });
});

test('a task module outside the repository type-checks with the README\'s tsconfig against the published types', async () => {
  // A user's project: `npm install --save-dev <path to this checkout>` links node_modules/task-scheduler here.
  const project = path.join(outside, 'project');
  mkdirSync(path.join(project, 'node_modules/@types'), { recursive: true });
  symlinkSync(ROOT, path.join(project, 'node_modules/task-scheduler'));
  symlinkSync(path.join(ROOT, 'node_modules/@types/node'), path.join(project, 'node_modules/@types/node'));
  for (const file of ['tasks.ts', 'client.ts', 'tsconfig.json']) copyFileSync(path.join(EXAMPLES, file), path.join(project, file));
  // The types are real, not `any`: a Long is not a number.
  writeFileSync(path.join(project, 'typed.ts'), [
    "import { syncTask, type ArgValue } from 'task-scheduler';",
    'syncTask(function typed(args: readonly ArgValue[]) {',
    '  const first = args[0];',
    '  // @ts-expect-error an int64 value is a Long, not a number',
    "  const n: number = first?.kind === 'int64' ? first.value : 0;",
    '  return String(n);',
    '});',
    '',
  ].join('\n'));
  const res = await run(process.execPath, [TSC, '-p', project], { timeoutMs: 90_000 });
  expect(res.stdout + res.stderr).toBe('');
  expect(res.status).toBe(0);
});

describe('a module that cannot load: exit code 2, one line with its path and the reason', () => {
  const cases: Array<[string, string, string]> = [
    ['syntax.ts', 'import { syncTask } from "task-scheduler";\nconst x: number = ;\n', 'line 2:18: Unexpected ";"'],
    ['typescript-in.js', "const { syncTask } = require('task-scheduler');\nsyncTask(function f(args: ArgValue[]) { return ''; });\n", "SyntaxError: Unexpected token ':' (line 2)"],
    ['throws.ts', "export {};\nthrow new Error('no config found');\n", 'no config found (at line 2:7)'],
    ['missing-import.ts', "import './helpers';\n", "Cannot find module './helpers'"],
    ['duplicate.ts', "import { syncTask } from 'task-scheduler';\nsyncTask(function add() { return ''; });\n", "task 'add' is already registered (sync, source builtin) (at line 2:1)"],
  ];
  test.each(cases)('%s', async (name, source, reason) => {
    const file = path.join(outside, name);
    writeFileSync(file, source);
    const res = await runCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', '', '--worker-threads', '0', '--task-module', file]);
    expect(res.status).toBe(2);
    const lines = (res.stdout + res.stderr).trim().split('\n');
    expect(lines).toHaveLength(1);
    // The console logger escapes quotes as JSON does.
    expect(lines[0]!.replace(/\\"/g, '"')).toContain(`cannot load task module ${file}: ${reason}`);
  });

  test('a path that does not exist', async () => {
    const file = path.join(outside, 'nope.ts');
    const res = await runCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', '', '--task-module', file]);
    expect(res.status).toBe(2);
    expect(res.stdout + res.stderr).toContain(`cannot load task module ${file}: no such file`);
  });
});
