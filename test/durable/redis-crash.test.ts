/**
 * The durability promise on Redis under `kill -9` of a replica: three real CLI replicas
 * (`--store redis://…`, a small `--lease-ms`) on one redis-server started here share a mixed detached
 * load of the tasks in `test/fixtures/durable-tasks.js` (each appends `<taskId> <attempt>` to one
 * execution log the moment it starts, whichever replica runs it). At a random moment one replica,
 * picked at random, is killed with SIGKILL; the load goes on through the two survivors while they take
 * over its tasks (about one lease later), and a fresh replica replaces it before the next kill. After
 * the last kill the survivors let everything finish; every task a replica acknowledged is then read
 * through one survivor, read again through the other, and checked against the execution log
 * (`Workload.check` in `crash-harness.ts`, shared with the SQLite test):
 *
 * - it reached exactly one terminal state, readable through any surviving replica, the same one any
 *   client saw earlier;
 * - no attempt ran twice, and each logged attempt n has n ≤ the record's `attempts`;
 * - without a retry policy it ran at most once; if its replica died while it ran, it reads FAILED
 *   `Owner replica lost: <that replica>` (a task that had not started is taken over and run instead);
 * - with one it ran attempt after attempt up to `max_attempts` (an attempt cut by the kill counts: a
 *   survivor takes it over and runs the next), and ended in success or with exactly its attempts spent;
 * - nothing stays PENDING or RUNNING.
 *
 * A seed fixes the mix of work, which replica dies and after how many acknowledgements; not the timing
 * of the machine. The counts are printed. (Needs `npm run build` and redis-server.)
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assertBuilt, killCli, startCli, type CliProcess } from '../helpers/cli';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { uniquePrefix } from '../scale-out/replicas';
import { connect, MODULE, sleep, summarize, Workload, type Totals } from './crash-harness';

jest.setTimeout(300_000);

/** Small, so that takeovers happen during the load; not so small that a replica stalled by this busy machine loses its lease. */
const LEASE_MS = 1_000;
const LOST = 'Owner replica lost: ';

let redis: RedisInstance;
let tmp: string;
const started: CliProcess[] = [];
beforeAll(async () => {
  assertBuilt();
  tmp = mkdtempSync(path.join(os.tmpdir(), 'ts-redis-crash-'));
  redis = await startRedis();
});
afterEach(async () => {
  for (const cli of started.splice(0)) await killCli(cli);
});
afterAll(async () => {
  await redis?.close();
  rmSync(tmp, { recursive: true, force: true });
});

const replicaOf = (cli: CliProcess) => /"replica":"([^"]+)"/.exec(cli.readyLine)![1]!;

/**
 * One seed: three replicas; `kills` times one of them, at random, is killed under load, the load goes
 * on through the survivors for a while, and (but after the last kill) a new replica takes its place.
 * Then the survivors let everything finish, and every task is checked. Returns its counts.
 */
async function redisCrashRun(seed: number, kills: number): Promise<Totals> {
  const work = new Workload(seed);
  const { totals } = work;
  const dir = path.join(tmp, `seed-${seed}`);
  mkdirSync(dir, { recursive: true });
  const execLog = path.join(dir, 'executions.log');
  const args = ['--addr', '127.0.0.1:0', '--log-dir', '', '--library-dir', '', '--worker-threads', '0', '--task-module', MODULE,
    '--store', redis.url, '--redis-prefix', uniquePrefix(`crash-${seed}`), '--lease-ms', String(LEASE_MS), '--shutdown-grace-ms', '30000'];
  const env = { DURABLE_EXEC_LOG: execLog };
  const lostMessages = new Set<string>();

  const startReplica = async () => {
    const began = Date.now();
    const cli = await startCli(args, { env });
    totals.startMs += Date.now() - began;
    started.push(cli);
    totals.lives++;
    return cli;
  };
  /** What the survivors said about taking over the lost replica's tasks (each reaps once; counted once). */
  const takeovers = (survivors: CliProcess[], offsets: number[]) => {
    for (const [i, cli] of survivors.entries()) {
      for (const match of cli.output().slice(offsets[i]).matchAll(/replica lost: its tasks that can run again are taken over here[^\n]*"takenOver":(\d+),"failed":(\d+)/g)) {
        totals.retriedAfterCrash += Number(match[1]);
      }
    }
  };

  const replicas: CliProcess[] = [];
  for (let i = 0; i < 3; i++) replicas.push(await startReplica());
  for (let life = 0; life < kills; life++) {
    const connections = replicas.map((cli) => connect(cli.address));
    const clients = connections.map((connection) => connection.client);
    const victim = work.int(0, 2);
    const survivors = replicas.filter((_, i) => i !== victim);
    const offsets = survivors.map((cli) => cli.output().length);
    lostMessages.add(`${LOST}${replicaOf(replicas[victim]!)}`);
    let killed = false;
    let stopped = false;
    const killer = (async () => {
      await work.killAfterAcks(() => {
        killed = true;
        replicas[victim]!.child.kill('SIGKILL');
      }, 200, 800);
      // The load goes on through the survivors while they notice the loss and take over.
      const since = Date.now();
      await work.killAfterAcks(() => undefined, 200, 600);
      await sleep(Math.max(0, 3 * LEASE_MS - (Date.now() - since)));
      stopped = true;
    })();
    await Promise.all([killer, work.drive(clients, (i) => killed && i === victim, () => stopped, life)]);
    expect(await replicas[victim]!.exited).toBeNull(); // killed by the signal
    totals.kills++;
    for (const connection of connections) connection.close();
    takeovers(survivors, offsets);
    replicas.splice(victim, 1);
    if (life < kills - 1) replicas.push(await startReplica());
  }

  // The two survivors: resubmit what is unknown, wait for every task to finish through one, read
  // everything again through the other.
  const [first, second] = replicas.map((cli) => connect(cli.address));
  await work.resubmitUnknown(first!.client);
  const finals = await work.awaitAll(first!.client);
  await work.reread(second!.client, finals, 'through the other survivor');
  for (const connection of [first!, second!]) connection.close();
  for (const cli of replicas) expect(await cli.stop()).toBe(0);

  work.check(finals, execLog, { matches: (result) => lostMessages.has(result), expected: () => undefined });
  expect(work.problems).toEqual([]);
  return totals;
}

test('kill -9 of one of three Redis replicas under load, 3 seeds × 2 kills: every acknowledged task ends exactly once, as its policy allows', async () => {
  const runs = [];
  for (const seed of [101, 202, 303]) runs.push(await redisCrashRun(seed, 2));
  const sum = summarize(`redis, 3 replicas, --lease-ms ${LEASE_MS}`, runs, {
    interrupted: 'ended FAILED `Owner replica lost`',
    retried: 'taken over by a survivor (PENDING, or RUNNING with attempts left)',
    resumed: undefined,
    starts: 'replica starts',
  });
  expect(sum.kills).toBe(6);
  expect(sum.tasks).toBeGreaterThan(6 * 400);
  expect(sum.retriedAfterCrash).toBeGreaterThan(0); // the kills did land on unfinished work
});
