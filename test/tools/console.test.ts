/**
 * The interactive console (`-c`) driven through the real CLI's stdin, and `startConsole` on streams
 * against an in-process server: commands, plugin unload/load/reload as gRPC clients see them, errors
 * that never end the console, and leaving the console while the server keeps serving.
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startConsole } from '../../src/cli/interactive-console';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { expectGrpcError, startTestServer, Status } from '../helpers/start-server';
import { killCli, PROMPT, ROOT, startCli, type CliProcess } from '../helpers/cli';

jest.setTimeout(60_000);

/**
 * A second plugin. Version 2 changes every output text, drops `later` and adds `fresh`; `heavy` runs
 * on a worker thread and says so, which proves the worker threads run the new file too.
 */
function greeterSource(version: number): string {
  const v = `v${version}`;
  return `const { isMainThread } = require('node:worker_threads');
module.exports = (api) => {
  api.syncTask(function hello() { return 'hello ${v}'; }, { description: 'Greets inline' });
  api.syncTask(function heavy() { return 'heavy ${v} in ' + (isMainThread ? 'main thread' : 'worker thread'); }, { worker: true });
  ${version === 1 ? `api.asyncTask(async function later() { return 'later ${v}'; });` : `api.syncTask(function fresh() { return 'fresh ${v}'; });`}
};
`;
}

function pluginDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  copyFileSync(path.join(ROOT, 'libraries/plugin_example.js'), path.join(dir, 'plugin_example.js'));
  writeFileSync(path.join(dir, 'greeter.js'), greeterSource(1));
  return dir;
}

async function result(connection: TaskSchedulerConnection, method: string, ...args: number[]): Promise<string> {
  return (await connection.client.submitTask({ method, args: args.map((n) => toAny(n)) })).result;
}

describe('the console of the real CLI, driven through stdin', () => {
  let dir: string;
  let cli: CliProcess | undefined;
  let connection: TaskSchedulerConnection;

  beforeAll(async () => {
    dir = pluginDir('ts-console-');
    cli = await startCli(['-a', '127.0.0.1:0', '-c', '--log-dir', '', '--worker-threads', '2', '-l', dir]);
    await cli.waitFor(new RegExp(`type 'help' for commands\\.\\n${PROMPT}`));
    connection = createTaskSchedulerClient(cli.address);
  });
  afterAll(async () => {
    connection?.close();
    await killCli(cli);
    rmSync(dir, { recursive: true, force: true });
  });

  test('help lists every command', async () => {
    const text = await cli!.command('help');
    for (const command of ['help', 'list', 'plugins', 'load <name>', 'unload <name>', 'reload', 'exit']) {
      expect(text).toMatch(new RegExp(`^  ${command}\\s{2,}\\S`, 'm'));
    }
  });

  test('list shows every task with its kind (worker threads marked), source and description', async () => {
    const text = await cli!.command('list');
    expect(text).toMatch(/^plugin_example::multiply\s+sync\s+plugin:plugin_example\s+Product of int32 arguments$/m);
    expect(text).toMatch(/^plugin_example::delayed_echo\s+async\s+plugin:plugin_example\s+Waits 500 ms/m);
    expect(text).toMatch(/^greeter::heavy\s+sync\/worker\s+plugin:greeter$/m);
    expect(text).toMatch(/^greeter::later\s+async\s+plugin:greeter$/m);
    expect(text).toMatch(/^add\s+sync\s+builtin\s+Sum of numeric arguments/m);
    expect(text).toMatch(/^fib\s+sync\/worker\s+builtin\s/m);
  });

  test('plugins shows each loaded plugin with its tasks', async () => {
    const text = await cli!.command('plugins');
    expect(text).toMatch(/^greeter \(.*greeter\.js\): greeter::hello, greeter::heavy, greeter::later$/m);
    expect(text).toMatch(/^plugin_example \(.*plugin_example\.js\): plugin_example::multiply, plugin_example::delayed_echo$/m);
  });

  test('unload removes the tasks (NOT_FOUND for clients); load brings them back', async () => {
    expect(await result(connection, 'plugin_example::multiply', 6, 7)).toBe('42');
    expect(await cli!.command('unload plugin_example')).toContain('unloaded plugin_example: removed plugin_example::multiply, plugin_example::delayed_echo\n');
    const err = await expectGrpcError(result(connection, 'plugin_example::multiply', 6, 7));
    expect(err.code).toBe(Status.NOT_FOUND);
    expect(err.details).toBe('Method not found: plugin_example::multiply');
    expect(await cli!.command('list')).not.toContain('plugin_example::');
    expect(await cli!.command('plugins')).not.toContain('plugin_example');
    expect(await cli!.command('unload plugin_example')).toContain("error: plugin 'plugin_example' is not loaded\n");
    expect(await result(connection, 'greeter::hello')).toBe('hello v1'); // the other plugin is untouched

    expect(await cli!.command('load plugin_example')).toContain('loaded plugin_example: plugin_example::multiply, plugin_example::delayed_echo\n');
    expect(await result(connection, 'plugin_example::multiply', 6, 7)).toBe('42');
    expect(await cli!.command('load plugin_example')).toContain("error: plugin 'plugin_example' is already loaded (use reload to pick up changes)\n");
  });

  test('reload re-reads changed files, in the main thread and in the worker threads', async () => {
    expect(await result(connection, 'greeter::hello')).toBe('hello v1');
    expect(await result(connection, 'greeter::later')).toBe('later v1');
    const before = await Promise.all([1, 2, 3, 4].map(() => result(connection, 'greeter::heavy')));
    expect(before).toEqual(Array(4).fill('heavy v1 in worker thread'));

    writeFileSync(path.join(dir, 'greeter.js'), greeterSource(2));
    expect(await result(connection, 'greeter::hello')).toBe('hello v1'); // nothing changes until reload
    expect(await cli!.command('reload')).toContain('reloaded 2 plugin(s): greeter, plugin_example\n');

    expect(await result(connection, 'greeter::hello')).toBe('hello v2');
    expect(await result(connection, 'greeter::fresh')).toBe('fresh v2');
    const after = await Promise.all([1, 2, 3, 4].map(() => result(connection, 'greeter::heavy')));
    expect(after).toEqual(Array(4).fill('heavy v2 in worker thread'));
    const gone = await expectGrpcError(result(connection, 'greeter::later'));
    expect([gone.code, gone.details]).toEqual([Status.NOT_FOUND, 'Method not found: greeter::later']);
    expect(await cli!.command('plugins')).toMatch(/^greeter \(.*greeter\.js\): greeter::hello, greeter::heavy, greeter::fresh$/m);
  });

  test('reload reports a plugin that throws and loads the others', async () => {
    const broken = path.join(dir, 'broken.js');
    writeFileSync(broken, `module.exports = () => { throw new Error('broken on purpose'); };`);
    try {
      const text = await cli!.command('reload');
      expect(text).toContain('reloaded 2 plugin(s): greeter, plugin_example\n');
      expect(text).toContain(`failed ${broken}: broken on purpose\n`);
      expect(await result(connection, 'plugin_example::multiply', 2, 3)).toBe('6');
    } finally {
      rmSync(broken);
    }
    expect(await cli!.command('reload')).not.toContain('failed');
  });

  test('a bad command or a failing load prints a message and the console goes on', async () => {
    expect(await cli!.command('frobnicate now')).toContain("unknown command 'frobnicate'; type 'help'\n");
    expect(await cli!.command('constructor')).toContain("unknown command 'constructor'; type 'help'\n");
    expect(await cli!.command('load nope')).toContain(`error: no plugin 'nope' in ${path.resolve(dir)}\n`);
    expect(await cli!.command('load')).toContain('usage: load <name>\n');
    expect(await cli!.command('   ')).toBe(PROMPT);
    expect(await cli!.command('plugins')).toMatch(/^plugin_example \(.*\): plugin_example::multiply/m);
  });

  test('exit leaves the console, the server keeps serving, and SIGTERM then exits 0', async () => {
    expect(await cli!.command('exit', /console closed; the server keeps running\n/)).not.toContain(PROMPT);
    const from = cli!.output().length;
    cli!.child.stdin.write('help\n');
    expect(await result(connection, 'add', 1, 2)).toBe('3');
    expect(await result(connection, 'plugin_example::multiply', 6, 7)).toBe('42');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(cli!.output().slice(from)).not.toContain('Commands:'); // nobody reads stdin any more
    expect(await cli!.stop()).toBe(0);
  });
});

test("-l '' means no plugins, and reload keeps it so (a .js in the working directory stays unloaded)", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ts-console-none-'));
  writeFileSync(path.join(dir, 'stray.js'), greeterSource(1));
  let cli: CliProcess | undefined;
  try {
    cli = await startCli(['-a', '127.0.0.1:0', '-c', '--log-dir', '', '--worker-threads', '0', '-l', ''], { cwd: dir });
    await cli.waitFor(/type 'help' for commands/);
    expect(await cli.command('reload')).toContain('reloaded 0 plugin(s): (none)');
    expect(await cli.command('plugins')).toContain('(no plugin directory: --library-dir is empty)');
    expect(await cli.command('load stray')).toContain("no plugin 'stray': no plugin directory (--library-dir is empty)");
    expect(await cli.command('list')).not.toContain('::');
    expect(cli.output()).not.toContain('plugin loaded');
  } finally {
    await killCli(cli);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('closing stdin leaves the console; the server keeps serving; SIGTERM exits 0', async () => {
  const dir = pluginDir('ts-console-eof-');
  let cli: CliProcess | undefined;
  try {
    cli = await startCli(['-a', '127.0.0.1:0', '-c', '--log-dir', '', '-l', dir]);
    await cli.waitFor(/type 'help' for commands/);
    cli.child.stdin.end();
    await cli.waitFor(/console closed; the server keeps running\n/);
    const connection = createTaskSchedulerClient(cli.address);
    try {
      expect(await result(connection, 'plugin_example::multiply', 6, 7)).toBe('42');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(cli.child.exitCode).toBeNull();
      expect(await result(connection, 'add', 2, 2)).toBe('4');
    } finally {
      connection.close();
    }
    expect(await cli.stop()).toBe(0);
  } finally {
    await killCli(cli);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('startConsole on streams drives an in-process server', async () => {
  const dir = pluginDir('ts-console-unit-');
  const server = await startTestServer({ libraryDir: dir, workerThreads: 1 });
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (chunk: Buffer) => (text += chunk.toString()));
  /** Writes a command; the console answers synchronously, so its output is there on the next tick. */
  const command = async (line: string) => {
    const from = text.length;
    input.write(`${line}\n`);
    await new Promise((resolve) => setImmediate(resolve));
    return text.slice(from);
  };
  try {
    const { closed } = startConsole({ input, output, app: server.app, prompt: '> ' });
    expect(text).toBe("Task Scheduler console: type 'help' for commands.\n> ");
    expect(await command('help')).toMatch(/^Commands:\n[\s\S]*\n {2}reload {2,}\S[\s\S]*\n> $/);
    expect(await command('list')).toMatch(/^greeter::heavy\s+sync\/worker\s+plugin:greeter$/m);
    expect(await command('toString')).toBe("unknown command 'toString'; type 'help'\n> ");
    expect(await command('unload nope')).toBe("error: plugin 'nope' is not loaded\n> ");

    expect(await command('unload plugin_example')).toBe('unloaded plugin_example: removed plugin_example::multiply, plugin_example::delayed_echo\n> ');
    const err = await expectGrpcError(server.client.submitTask({ method: 'plugin_example::multiply', args: [toAny(6), toAny(7)] }));
    expect([err.code, err.details]).toEqual([Status.NOT_FOUND, 'Method not found: plugin_example::multiply']);
    expect(await command('load plugin_example')).toBe('loaded plugin_example: plugin_example::multiply, plugin_example::delayed_echo\n> ');
    expect((await server.client.submitTask({ method: 'plugin_example::multiply', args: [toAny(6), toAny(7)] })).result).toBe('42');

    // Worker threads are real Node threads, so they read the changed file after reload. (Under jest
    // the main thread's require cache cannot be cleared, so main-thread re-reads are covered by the
    // CLI tests above, not here.)
    expect((await server.client.submitTask({ method: 'greeter::heavy' })).result).toBe('heavy v1 in worker thread');
    writeFileSync(path.join(dir, 'greeter.js'), greeterSource(2));
    expect(await command('reload')).toBe('reloaded 2 plugin(s): greeter, plugin_example\n> ');
    expect((await server.client.submitTask({ method: 'greeter::heavy' })).result).toBe('heavy v2 in worker thread');

    input.end();
    await closed;
    expect(text.endsWith('console closed; the server keeps running\n')).toBe(true);
    expect((await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
