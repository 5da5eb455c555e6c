/** The SQLite store's flags: --store sqlite:<path>, --sqlite-synchronous. */
import { parseCliOptions } from '../../src/cli/options';

test('defaults: the memory store; with sqlite:, synchronous normal', () => {
  expect(parseCliOptions([])!.app).toMatchObject({ store: 'memory', sqliteSynchronous: 'normal' });
  expect(parseCliOptions(['--store', 'sqlite:./data/tasks.db'])!.app).toMatchObject({ store: 'sqlite:./data/tasks.db', sqliteSynchronous: 'normal' });
  expect(parseCliOptions(['--store', 'sqlite:/var/lib/ts/tasks.db', '--sqlite-synchronous', 'full'])!.app).toMatchObject({ store: 'sqlite:/var/lib/ts/tasks.db', sqliteSynchronous: 'full' });
});

test('bad values are rejected naming the flag', () => {
  const storeMessage = (value: string) => `--store must be memory, sqlite:<path> or a Redis URL (redis://host:port, rediss://host:port), got ${JSON.stringify(value)}`;
  expect(() => parseCliOptions(['--store', 'sqlite:'])).toThrow(storeMessage('sqlite:'));
  expect(() => parseCliOptions(['--store', 'SQLITE:tasks.db'])).toThrow(storeMessage('SQLITE:tasks.db'));
  expect(() => parseCliOptions(['--store', 'sqlite:x', '--sqlite-synchronous', 'fast'])).toThrow('Argument: sqlite-synchronous, Given: "fast", Choices: "normal", "full"');
});
