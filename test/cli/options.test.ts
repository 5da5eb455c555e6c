/**
 * Flag parsing (src/cli/options.ts) in-process, over every flag `--help` lists: a flag that takes a
 * value needs one, numeric flags quote what they were given, address flags share one parser.
 * test/cli/cli.test.ts runs the same rules through the real process.
 */
import { buildParser, parseCliOptions } from '../../src/cli/options';

/** `--help` as yargs prints it, one entry per flag (continuation lines joined). */
function helpEntries(): Map<string, string> {
  let help = '';
  // yargs prints help through console.log; capture it.
  const log = jest.spyOn(console, 'log').mockImplementation((text: unknown) => {
    help += String(text);
  });
  try {
    buildParser(['--help']).exitProcess(false).parseSync();
  } finally {
    log.mockRestore();
  }
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const line of help.split('\n')) {
    const start = /^\s+(?:-\w, )?--([a-z][a-z-]*)\b/.exec(line);
    if (start) entries.set((current = start[1]!), line);
    else if (current && /^\s{20,}\S/.test(line)) entries.set(current, `${entries.get(current)!} ${line.trim()}`);
    else current = undefined;
  }
  return entries;
}

/** Runs parseCliOptions with no TASK_SCHEDULER_* variables set (restored after). */
function parseClean(argv: string[]): ReturnType<typeof parseCliOptions> {
  const saved = Object.entries(process.env).filter(([key]) => key.startsWith('TASK_SCHEDULER_'));
  for (const [key] of saved) delete process.env[key];
  try {
    return parseCliOptions(argv);
  } finally {
    for (const [key, value] of saved) process.env[key] = value;
  }
}

const entries = helpEntries();
const valueFlags = [...entries].filter(([, text]) => !text.includes('[boolean]')).map(([flag]) => flag);
const numericFlags = [...entries].filter(([, text]) => /\[default: \d+\]/.test(text)).map(([flag]) => flag);

test('--help lists the flags this test walks through', () => {
  expect(valueFlags).toEqual(expect.arrayContaining(['addr', 'library-dir', 'max-args', 'metrics-addr', 'dashboard-addr', 'task-module', 'auth-token', 'log-level', 'log-dir']));
  expect(numericFlags).toEqual(expect.arrayContaining(['max-args', 'dependency-timeout-ms', 'lease-ms', 'worker-threads']));
  expect(valueFlags).not.toContain('cli');
});

test.each(valueFlags)('a bare --%s (no value) is an error, never its default', (flag) => {
  expect(() => parseClean([`--${flag}`])).toThrow(`--${flag} needs a value`);
  // Followed by another flag, it still has no value.
  expect(() => parseClean([`--${flag}`, '--cli'])).toThrow(`--${flag} needs a value`);
});

test('a bare alias names the alias', () => {
  expect(() => parseClean(['-a'])).toThrow("-a needs a value (an empty one is written -a '')");
});

test.each(numericFlags)('--%s abc quotes the text it was given', (flag) => {
  expect(() => parseClean([`--${flag}`, 'abc'])).toThrow(`--${flag} must be a whole number ≥ 0, got "abc"`);
  expect(() => parseClean([`--${flag}`, ''])).toThrow(`--${flag} must be a whole number ≥ 0, got ""`);
  expect(() => parseClean([`--${flag}`, ' '])).toThrow(`--${flag} must be a whole number ≥ 0, got " "`);
  expect(() => parseClean([`--${flag}`, '1.5'])).toThrow(`--${flag} must be a whole number ≥ 0, got 1.5`);
});

test('numeric flags from the environment are checked the same way', () => {
  process.env['TASK_SCHEDULER_MAX_ARGS'] = 'many';
  try {
    expect(() => parseCliOptions([])).toThrow('--max-args must be a whole number ≥ 0, got "many"');
    process.env['TASK_SCHEDULER_MAX_ARGS'] = '12';
    expect(parseCliOptions([])!.app.maxArgs).toBe(12);
  } finally {
    delete process.env['TASK_SCHEDULER_MAX_ARGS'];
  }
});

test('a single-value flag given twice is an error; repeatable flags collect', () => {
  expect(() => parseClean(['--addr', '127.0.0.1:1', '--addr', '127.0.0.1:2'])).toThrow('--addr was given more than once ("127.0.0.1:1", "127.0.0.1:2"): give it once');
  expect(() => parseClean(['--max-args', '1', '--max-args', '2'])).toThrow('--max-args was given more than once (1, 2)');
  expect(parseClean(['--task-module', 'a.ts', '--task-module', 'b.ts'])!.app.taskModules).toEqual(['a.ts', 'b.ts']);
  expect(parseClean(['--auth-token', 'x', '--auth-token', 'y'])!.app.authTokens).toEqual(['x', 'y']);
});

describe('address flags share one parser: host:port, or a bare port on 127.0.0.1', () => {
  test.each([
    ['addr', (o: NonNullable<ReturnType<typeof parseCliOptions>>) => o.addr],
    ['metrics-addr', (o: NonNullable<ReturnType<typeof parseCliOptions>>) => o.app.metricsAddr],
    ['dashboard-addr', (o: NonNullable<ReturnType<typeof parseCliOptions>>) => o.app.dashboardAddr],
  ] as const)('--%s', (flag, read) => {
    expect(read(parseClean([`--${flag}`, '9464'])!)).toBe('127.0.0.1:9464');
    expect(read(parseClean([`--${flag}`, ':9464'])!)).toBe('127.0.0.1:9464');
    expect(read(parseClean([`--${flag}`, '0.0.0.0:9464'])!)).toBe('0.0.0.0:9464');
    expect(read(parseClean([`--${flag}`, '[::1]:9464'])!)).toBe('[::1]:9464');
    expect(() => parseClean([`--${flag}`, 'localhost'])).toThrow(`--${flag}: invalid address "localhost": expected host:port`);
    expect(() => parseClean([`--${flag}`, '70000'])).toThrow(`--${flag}: invalid address "127.0.0.1:70000": port 70000 is above 65535`);
  });

  test('metrics and dashboard are off when empty; the listen address must not be', () => {
    const options = parseClean([])!;
    expect([options.addr, options.app.metricsAddr, options.app.dashboardAddr]).toEqual(['127.0.0.1:50051', '', '']);
    expect(() => parseClean(['--addr='])).toThrow('--addr: the listen address must not be empty');
  });
});

test('--version and --help answer without options (nothing to start)', () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    expect(parseClean(['--version'])).toBeUndefined();
    expect(parseClean(['--help'])).toBeUndefined();
  } finally {
    log.mockRestore();
  }
});
