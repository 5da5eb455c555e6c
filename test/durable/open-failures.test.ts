/**
 * `--store sqlite:<path>` that cannot be opened, through the real CLI: exit code 1 and one line naming
 * the path and the reason, nothing else on stdout or stderr — and a file that is refused is left as it
 * was (not converted to our journal mode, not migrated). (Needs `npm run build`.)
 */
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { APPLICATION_ID, SCHEMA_VERSION } from '../../src/results/sqlite-schema';
import { assertBuilt, killCli, runCli, startCli, type CliProcess } from '../helpers/cli';
import { expectGrpcError, Status } from '../helpers/start-server';

jest.setTimeout(60_000);

let tmp: string;
const started: CliProcess[] = [];
beforeAll(() => {
  assertBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-sqlite-open-'));
});
afterEach(async () => {
  for (const cli of started.splice(0)) await killCli(cli);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const ARGS = ['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0'];

/**
 * Runs the CLI on `file` and expects it to refuse it: exit code 1, and the only output one line,
 * `… error: cannot start: cannot open the SQLite store <file>: <why>`.
 */
async function expectRefused(file: string, why: string): Promise<void> {
  const { status, stdout, stderr } = await runCli([...ARGS, '--store', `sqlite:${file}`]);
  const lines = `${stdout}${stderr}`.split('\n').filter((line) => line !== '');
  expect({ status, lines: lines.map((line) => line.replace(/^\S+ /, '')) }).toEqual({
    status: 1,
    lines: [`error: cannot start: cannot open the SQLite store ${file}: ${why}`],
  });
  expect(stderr).toBe('');
}

/**
 * A store the real server wrote: 300 finished tasks (`t000`…`t299`), a `blocker` cancelled at shutdown,
 * and 50 tasks waiting for it (`z00`…`z49`), left PENDING by the shutdown.
 */
async function writeStore(file: string): Promise<void> {
  const cli = await startCli([...ARGS, '--store', `sqlite:${file}`, '--shutdown-grace-ms', '0']);
  started.push(cli);
  const { client, close } = createTaskSchedulerClient(cli.address);
  try {
    for (let i = 0; i < 300; i++) await client.submitTask({ taskId: `t${String(i).padStart(3, '0')}`, method: 'echo', args: [toAny('x'.repeat(200)), toAny(i)], detached: true });
    await client.submitTask({ taskId: 'blocker', method: 'sleep', args: [toAny(600_000)], detached: true });
    for (let i = 0; i < 50; i++) await client.submitTask({ taskId: `z${String(i).padStart(2, '0')}`, method: 'ping', deps: ['blocker'], detached: true });
    expect((await client.waitResult({ taskId: 't299' })).status).toBe(TaskResponse_Status.SUCCESS);
  } finally {
    close();
  }
  expect(await cli.stop()).toBe(0);
}

/**
 * The leaf pages of the tasks table in key order (from SQLite's dbstat), with the task ids each holds:
 * read from the page's live cells (its cell pointer array), not from all its bytes, where copies of
 * records rewritten since may linger in free space.
 */
function tableLeaves(file: string): Array<{ page: number; ids: string[] }> {
  const db = new BetterSqlite3(file, { readonly: true });
  let pages: number[];
  try {
    pages = (db.prepare("SELECT pageno FROM dbstat WHERE name = 'tasks' AND pagetype = 'leaf' ORDER BY path").all() as Array<{ pageno: number }>).map((row) => row.pageno);
  } finally {
    db.close();
  }
  const bytes = readFileSync(file);
  return pages.map((page) => {
    const at = (page - 1) * 4096;
    const cells = bytes.readUInt16BE(at + 3);
    const ids: string[] = [];
    for (let i = 0; i < cells; i++) {
      const cell = at + bytes.readUInt16BE(at + 8 + 2 * i);
      // A cell is its payload size, the record header, then the columns: the id first, then the JSON.
      ids.push(/"taskId":"([^"]+)"/.exec(bytes.subarray(cell, cell + 1024).toString('latin1'))![1]!);
    }
    return { page, ids };
  });
}

/** Overwrites `length` bytes of page `page` (1-based, 4 KiB pages) from `offset` with 0xA5. */
function scribble(file: string, page: number, offset: number, length: number): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, Buffer.alloc(length, 0xa5), 0, length, (page - 1) * 4096 + offset);
  } finally {
    closeSync(fd);
  }
}

/** Root pages of the store's table and indexes, as SQLite lists them. */
function rootPages(file: string): Record<string, number> {
  const db = new BetterSqlite3(file, { readonly: true });
  try {
    const rows = db.prepare("SELECT name, rootpage FROM sqlite_schema WHERE rootpage > 0").all() as Array<{ name: string; rootpage: number }>;
    return Object.fromEntries(rows.map((row) => [row.name, row.rootpage]));
  } finally {
    db.close();
  }
}

test('its directory cannot be created (a file is in the way)', async () => {
  writeFileSync(path.join(tmp, 'a-file'), 'not a directory');
  const file = path.join(tmp, 'a-file', 'data', 'tasks.db');
  await expectRefused(file, `ENOTDIR: not a directory, mkdir '${path.join(tmp, 'a-file', 'data')}'`);
});

test('the path is a directory', async () => {
  const dir = path.join(tmp, 'a-directory');
  mkdirSync(dir);
  await expectRefused(dir, 'it cannot be opened (check the path and its permissions)');
});

test('locked by another live server: refused at once; the first one serves on, and the file opens once it stops', async () => {
  const file = path.join(tmp, 'locked', 'tasks.db');
  const first = await startCli([...ARGS, '--store', `sqlite:${file}`]);
  started.push(first);
  const { client, close } = createTaskSchedulerClient(first.address);
  try {
    await client.submitTask({ taskId: 'before', method: 'ping', detached: true });
    const began = Date.now();
    await expectRefused(file, 'it is locked by another process (is another task-scheduler running on it?)');
    expect(Date.now() - began).toBeLessThan(15_000); // not waiting for the lock (a busy timeout)
    expect(await client.submitTask({ taskId: 'after', method: 'ping' })).toEqual({ taskId: 'after', status: TaskResponse_Status.SUCCESS, result: 'pong', attempts: 1 });
    expect((await client.getResult({ taskId: 'before' })).status).toBe(TaskResponse_Status.SUCCESS);
  } finally {
    close();
  }
  expect(await first.stop()).toBe(0);
  const second = await startCli([...ARGS, '--store', `sqlite:${file}`]);
  started.push(second);
  const again = createTaskSchedulerClient(second.address);
  try {
    expect(await again.client.getResult({ taskId: 'after' })).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'pong', attempts: 1 });
  } finally {
    again.close();
  }
  expect(await second.stop()).toBe(0);
});

test('not a SQLite file (text, random bytes): refused and left untouched', async () => {
  const text = path.join(tmp, 'notes.txt');
  writeFileSync(text, 'these are my notes, not a database\n'.repeat(200));
  const random = path.join(tmp, 'random.bin');
  writeFileSync(random, Buffer.from(Array.from({ length: 16_384 }, (_, i) => (i * 7919 + 13) % 251)));
  for (const file of [text, random]) {
    const before = readFileSync(file);
    await expectRefused(file, 'it is not a SQLite database');
    expect(readFileSync(file).equals(before)).toBe(true);
  }
});

describe('a corrupt store', () => {
  let pristine: string;
  beforeAll(async () => {
    pristine = path.join(tmp, 'pristine', 'tasks.db');
    await writeStore(pristine);
  });

  /** A copy of the pristine store with `damage` done to it. */
  function damaged(name: string, damage: (file: string) => void): string {
    const file = path.join(tmp, 'corrupt', name);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, readFileSync(pristine));
    damage(file);
    return file;
  }

  test('the header overwritten: not a SQLite database', async () => {
    await expectRefused(damaged('header.db', (file) => scribble(file, 1, 0, 16)), 'it is not a SQLite database');
  });

  test('the schema page overwritten: corrupt', async () => {
    await expectRefused(damaged('schema.db', (file) => scribble(file, 1, 100, 200)), 'the database is corrupt');
  });

  test.each(['tasks', 'tasks_finished', 'tasks_unfinished', 'tasks_submitted'])('the root page of %s overwritten: corrupt', async (name) => {
    const page = rootPages(pristine)[name]!;
    await expectRefused(damaged(`${name}.db`, (file) => scribble(file, page, 0, 4096)), 'the database is corrupt');
  });

  test('the pages holding the PENDING tasks overwritten: corrupt (found while recovering them, before listening)', async () => {
    const leaves = tableLeaves(pristine);
    expect(leaves.length).toBeGreaterThan(3);
    const holding = leaves.filter((leaf) => leaf.ids.some((id) => id.startsWith('z')));
    expect(holding.length).toBeGreaterThan(0);
    expect(holding).not.toContainEqual(leaves[0]);
    await expectRefused(damaged('pending-leaves.db', (file) => holding.forEach((leaf) => scribble(file, leaf.page, 0, 4096))), 'the database is corrupt');
  });

  test('damage deeper in (a page of finished results) is found when a call reads it: UNAVAILABLE naming the file; the rest serves', async () => {
    const leaves = tableLeaves(pristine);
    const victim = leaves[2]!;
    expect(victim.ids.length).toBeGreaterThan(0);
    expect(victim.ids.every((id) => id.startsWith('t'))).toBe(true);
    const file = damaged('finished-leaf.db', (f) => scribble(f, victim.page, 0, 4096));
    const cli = await startCli([...ARGS, '--store', `sqlite:${file}`]);
    started.push(cli);
    expect(cli.output()).toMatch(/recovered unfinished tasks from the store \{"resumed":50,"retried":0,"failed":0,"ms":\d+\}/);
    const { client, close } = createTaskSchedulerClient(cli.address);
    try {
      const err = await expectGrpcError(client.getResult({ taskId: victim.ids[0]! }));
      expect(err.code).toBe(Status.UNAVAILABLE);
      expect(err.details).toBe(`Result store unavailable: SQLite store ${file}: database disk image is malformed (SQLITE_CORRUPT)`);
      const intact = leaves[0]!.ids.find((id) => id.startsWith('t'))!;
      expect((await client.getResult({ taskId: intact })).status).toBe(TaskResponse_Status.SUCCESS);
    } finally {
      close();
    }
    await cli.stop('SIGKILL');
  });
});

test('written by a newer server (a higher schema version): refused, and the file is left as it was', async () => {
  const file = path.join(tmp, 'newer.db');
  const db = new BetterSqlite3(file);
  db.pragma(`application_id = ${APPLICATION_ID}`);
  db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
  db.exec('CREATE TABLE tasks_v2 (id TEXT PRIMARY KEY)');
  db.close();
  const before = readFileSync(file);
  await expectRefused(file, `it was written by a newer task-scheduler (schema version ${SCHEMA_VERSION + 1}; this one knows up to ${SCHEMA_VERSION}): upgrade the server, or use another file`);
  expect(readFileSync(file).equals(before)).toBe(true);
});

test("another program's SQLite database (tables, no application_id): refused, and the file is left as it was", async () => {
  const file = path.join(tmp, 'other-program.db');
  const db = new BetterSqlite3(file);
  db.exec("CREATE TABLE contacts (name TEXT, phone TEXT); INSERT INTO contacts VALUES ('Ada', '555-0100')");
  db.close();
  const before = readFileSync(file);
  await expectRefused(file, 'it is a SQLite database of another program (not a task-scheduler store)');
  // Not even its journal mode was changed (header bytes 18–19: 1 = rollback journal, 2 = WAL).
  expect([...readFileSync(file).subarray(18, 20)]).toEqual([1, 1]);
  expect(readFileSync(file).equals(before)).toBe(true);
});
