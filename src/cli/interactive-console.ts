import { createInterface } from 'node:readline';
import type { App } from '../app';
import { TaskRequest } from '../../generated/taskscheduler/task_scheduler';
import { MissedFirePolicy, type Schedule } from '../../generated/taskscheduler/task_scheduler_admin';
import { toAny, type JsArg } from '../args/encode-arg';

/** Streams and the server the console drives. */
export interface ConsoleOptions {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream;
  readonly app: Pick<App, 'registry' | 'plugins' | 'admin'>;
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
  pause <method>  start no more tasks of <method> on this server (they are still accepted)
  resume <method> start them again
  queue           waiting/running per method and key, paused methods, delayed tasks
  schedules       recurring schedules and their next fire
  schedule <name> '<cron>' <method> [json-args] [tz=<Zone>] [missed=run_once]
                  create or replace a schedule, e.g. schedule nightly '0 3 * * *' echo '["hi"]' tz=Europe/Berlin
  unschedule <name>  delete a schedule
  exit            leave the console (the server keeps running)
`;

/**
 * The interactive console (`-c`), beside the server: it manages plugins and lists tasks. Leaving it
 * (`exit`, or end of input) never stops the server. Errors are printed, never thrown.
 */
export function startConsole(options: ConsoleOptions): { readonly closed: Promise<void> } {
  const { app, output } = options;
  const rl = createInterface({ input: options.input, output, prompt: options.prompt ?? 'task-scheduler> ', terminal: false });
  const print = (text: string): void => {
    output.write(text.endsWith('\n') ? text : `${text}\n`);
  };

  const { admin } = app;
  const commands: Record<string, (arg: string) => void | Promise<void>> = {
    pause: async (method) => {
      print(`paused: ${(await admin.pauseMethod({ method })).pausedMethods?.join(', ') || '(none)'}`);
    },
    resume: async (method) => {
      print(`paused: ${(await admin.resumeMethod({ method })).pausedMethods?.join(', ') || '(none)'}`);
    },
    queue: async () => {
      const stats = await admin.getQueueStats({});
      const lines = (stats.methods ?? []).map((m) => `${m?.method ?? ''}: ${m.waiting ?? 0} waiting, ${m.running ?? 0} running${m.paused ? ' (paused)' : ''}`);
      for (const key of stats.keys ?? []) lines.push(`key ${key.concurrencyKey}: ${key.waiting ?? 0} waiting, ${key.running ?? 0} running`);
      lines.push(`delayed: ${stats.delayed ?? 0}`);
      print(lines.join('\n'));
    },
    schedules: async () => {
      const { schedules = [] } = await admin.listSchedules({});
      print(
        schedules.map((s) => `${s.name}  '${s.cron}'${s.timeZone ? ` ${s.timeZone}` : ''}  ${s.task?.method ?? ''}  next ${isoOf(Number(s.nextFireAtMs ?? 0))}`).join('\n') || '(no schedules)',
      );
    },
    schedule: async (arg) => {
      const [name = '', cron = '', method = '', ...rest] = tokens(arg);
      if (!name || !cron || !method) {
        print("usage: schedule <name> '<cron>' <method> [json-args] [tz=<Zone>] [missed=run_once]");
        return;
      }
      let args: unknown[] = [];
      let timeZone = '';
      let missed = MissedFirePolicy.MISSED_FIRE_SKIP;
      for (const token of rest) {
        if (token.startsWith('tz=')) timeZone = token.slice(3);
        else if (token === 'missed=run_once') missed = MissedFirePolicy.MISSED_FIRE_RUN_ONCE;
        else if (token === 'missed=skip') missed = MissedFirePolicy.MISSED_FIRE_SKIP;
        else {
          const parsed: unknown = JSON.parse(token);
          if (!Array.isArray(parsed)) throw new Error('args must be a JSON array, e.g. \'[1, "two"]\'');
          args = parsed;
        }
      }
      const task = TaskRequest.fromPartial({ method, args: args.map((value) => toAny(value as JsArg)) });
      const created = await admin.createSchedule({ schedule: { name, cron, timeZone, task, missedFirePolicy: missed } as Schedule });
      print(`schedule ${name}: next fire ${isoOf(Number(created.nextFireAtMs ?? 0))}`);
    },
    unschedule: async (name) => {
      print((await admin.deleteSchedule({ name })).deleted ? `deleted ${name}` : `no schedule ${name}`);
    },
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
  // Commands run one after another (some are async: schedules, stats), each followed by the prompt.
  let previous: Promise<void> = Promise.resolve();
  rl.on('line', (line) => {
    const [command = '', ...rest] = line.trim().split(/\s+/);
    previous = previous.then(async () => {
      if (command !== '') {
        const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
        if (!run) print(`unknown command '${command.slice(0, 100)}'; type 'help'`);
        else {
          try {
            await run(rest.join(' '));
          } catch (err) {
            print(`error: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
      if (command !== 'exit') rl.prompt();
    });
  });
  print("Task Scheduler console: type 'help' for commands.");
  rl.prompt();
  void closed.then(() => print('console closed; the server keeps running'));
  return { closed };
}

/** Words of a command line; '…' or "…" keep spaces (a cron expression, JSON args). */
function tokens(text: string): string[] {
  return [...text.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((match) => match[1] ?? match[2] ?? match[3] ?? '');
}

function isoOf(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString() : '(none)';
}
