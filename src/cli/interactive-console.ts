import { createInterface } from 'node:readline';
import type { App } from '../app';

/** Streams and the server the console drives. */
export interface ConsoleOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  readonly app: Pick<App, 'registry' | 'plugins'>;
  /** Shown before each command. */
  readonly prompt?: string;
}

const HELP = `Commands:
  help            this text
  list            registered tasks (name, kind, source, description)
  plugins         loaded plugins and their tasks
  load <name>     load plugin <name> from the library directory
  unload <name>   unload plugin <name> (its tasks are removed)
  reload          unload all plugins and load the directory again (picks up changed files)
  exit            leave the console (the server keeps running)
`;

/**
 * The interactive console (`-c`), beside the server: it manages plugins and lists tasks. Leaving it
 * (`exit`, or end of input) never stops the server. Errors are printed, never thrown.
 */
export function startConsole(options: ConsoleOptions): { readonly closed: Promise<void> } {
  const { app, output } = options;
  const rl = createInterface({ input: options.input, output, prompt: options.prompt ?? 'task-scheduler> ', terminal: false });
  const print = (text: string) => output.write(text.endsWith('\n') ? text : `${text}\n`);

  const commands: Record<string, (arg: string) => void> = {
    help: () => print(HELP),
    list: () => {
      const tasks = app.registry.list();
      const width = Math.max(4, ...tasks.map((task) => task.name.length));
      const kind = (task: (typeof tasks)[number]) => (task.kind === 'sync' && task.worker ? 'sync/worker' : task.kind);
      print(
        tasks.map((task) => `${task.name.padEnd(width)}  ${kind(task).padEnd(11)}  ${task.source.padEnd(22)}  ${task.description}`.trimEnd()).join('\n') ||
          '(no tasks)',
      );
    },
    plugins: () => {
      const plugins = app.plugins.list();
      print(
        plugins.length === 0
          ? app.plugins.dir === '' ? '(no plugin directory: --library-dir is empty)' : `(no plugins loaded from ${app.plugins.dir})`
          : plugins.map((plugin) => `${plugin.name} (${plugin.file}): ${plugin.tasks.join(', ') || '(no tasks)'}`).join('\n'),
      );
    },
    load: (name) => {
      if (!name) {
        print('usage: load <name>');
        return;
      }
      const plugin = app.plugins.load(name);
      print(`loaded ${plugin.name}: ${plugin.tasks.join(', ') || '(no tasks)'}`);
    },
    unload: (name) => {
      if (!name) {
        print('usage: unload <name>');
        return;
      }
      const tasks = app.plugins.unload(name);
      print(`unloaded ${name}: removed ${tasks.join(', ') || 'no tasks'}`);
    },
    reload: () => {
      const report = app.plugins.reload();
      const lines = [`reloaded ${report.loaded.length} plugin(s): ${report.loaded.map((plugin) => plugin.name).join(', ') || '(none)'}`];
      for (const failure of report.failed) lines.push(`failed ${failure.file}: ${failure.error}`);
      print(lines.join('\n'));
    },
    exit: () => rl.close(),
  };

  const closed = new Promise<void>((resolve) => rl.once('close', () => resolve()));
  rl.on('line', (line) => {
    const [command = '', ...rest] = line.trim().split(/\s+/);
    if (command !== '') {
      const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
      if (!run) print(`unknown command '${command.slice(0, 100)}'; type 'help'`);
      else {
        try {
          run(rest.join(' '));
        } catch (err) {
          print(`error: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }
    if (command !== 'exit') rl.prompt();
  });
  print("Task Scheduler console: type 'help' for commands.");
  rl.prompt();
  void closed.then(() => print('console closed; the server keeps running'));
  return { closed };
}
