/**
 * Redis outages: calls that need Redis fail fast with UNAVAILABLE and a clear message; the server
 * neither crashes nor hangs, and recovers by itself when Redis is back — also under load.
 */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { ClientError, expectGrpcError, Status, type TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { sleep, startReplicas, uniquePrefix } from './replicas';

jest.setTimeout(90_000);
const ms = (n: number): Long => Long.fromNumber(n, true);

let redis: RedisInstance;
let r: TestServer[];
beforeAll(async () => {
  redis = await startRedis();
  r = await startReplicas(2, redis.url, uniquePrefix('outage'));
});
afterAll(async () => {
  await Promise.allSettled((r ?? []).map((replica) => replica.close()));
  await redis?.close();
});

/** Polls until `call` succeeds (Redis back and reconnected), failing after `timeoutMs`. */
async function eventually<T>(call: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(100);
    }
  }
}

test('while Redis is down: UNAVAILABLE at once with a clear message; afterwards everything works again', async () => {
  await r[0]!.client.submitTask({ taskId: 'o-before', method: 'sleep', args: [toAny(800)], detached: true });
  await redis.stop();
  await sleep(200);
  const calls: Array<[string, () => Promise<unknown>]> = [
    ['GetResult', () => r[1]!.client.getResult({ taskId: 'o-before' })],
    ['WaitResult', () => r[1]!.client.waitResult({ taskId: 'o-before', timeoutMs: ms(5000) })],
    ['SubmitTask (client id)', () => r[1]!.client.submitTask({ taskId: 'o-during', method: 'ping' })],
    ['SubmitTask (detached)', () => r[1]!.client.submitTask({ method: 'ping', detached: true })],
    ['SubmitTask (deps)', () => r[1]!.client.submitTask({ method: 'ping', deps: ['o-before'] })],
    ['CancelTask', () => r[1]!.client.cancelTask({ taskId: 'o-before' })],
  ];
  for (const [name, call] of calls) {
    const started = Date.now();
    const err = await expectGrpcError(call());
    expect({ name, code: Status[err.code] }).toEqual({ name, code: 'UNAVAILABLE' });
    expect(err.details).toMatch(new RegExp(`^Result store unavailable: Redis at redis://127\\.0\\.0\\.1:${redis.port} did not answer \\(.+\\); retry later$`));
    expect(Date.now() - started).toBeLessThan(1000);
  }
  // A task that needs no shared state still runs (a server-assigned id, blocking, no deps).
  expect((await r[0]!.client.submitTask({ method: 'ping', args: [toAny('alone')] })).result).toBe('pong: alone');
  // Health stays up, the process too; the task accepted before the outage finishes meanwhile.
  await sleep(800);
  await redis.restart();
  // Its final record, which could not be written during the outage, is written once Redis is back.
  const after = await eventually(async () => {
    const answer = await r[1]!.client.getResult({ taskId: 'o-before' });
    if (answer.status !== TaskResponse_Status.SUCCESS) throw new Error(`still ${TaskResponse_Status[answer.status]}`);
    return answer;
  });
  expect(after).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'slept 800 ms', attempts: 1 });
  expect((await r[1]!.client.submitTask({ taskId: 'o-after', method: 'ping', args: [toAny('back')] })).result).toBe('pong: back');
  expect((await r[0]!.client.getResult({ taskId: 'o-after' })).result).toBe('pong: back');
});

test('under load: Redis stopped and restarted; every answer is right or UNAVAILABLE, none hangs, and load recovers', async () => {
  let stop = false;
  let ok = 0;
  let unavailable = 0;
  const wrong: string[] = [];
  let slowest = 0;
  const worker = async (w: number) => {
    for (let i = 0; !stop; i++) {
      const replica = r[(w + i) % r.length]!;
      const taskId = `load-${w}-${i}`;
      const started = Date.now();
      try {
        const answer = await replica.client.submitTask({ taskId, method: 'concat', args: [toAny(taskId), toAny('!')] });
        if (answer.result !== `${taskId}!` || answer.taskId !== taskId) wrong.push(`${taskId}: ${JSON.stringify(answer)}`);
        else ok++;
        // Read back from the other replica: the same record, or UNAVAILABLE if Redis went away meanwhile.
        const read = await r[(w + i + 1) % r.length]!.client.getResult({ taskId });
        if (read.status !== TaskResponse_Status.SUCCESS || read.result !== `${taskId}!`) wrong.push(`${taskId} read back: ${JSON.stringify(read)}`);
      } catch (err) {
        if (err instanceof ClientError && err.code === Status.UNAVAILABLE && err.details.startsWith('Result store unavailable: ')) unavailable++;
        else wrong.push(`${taskId}: ${err instanceof Error ? err.message : String(err)}`);
        await sleep(20);
      }
      slowest = Math.max(slowest, Date.now() - started);
    }
  };
  const workers = Array.from({ length: 6 }, (_, w) => worker(w));
  await sleep(700);
  const okBefore = ok;
  await redis.stop();
  await sleep(1500);
  const unavailableDuring = unavailable;
  await redis.restart();
  await sleep(2500);
  const okBeforeEnd = ok;
  await sleep(1000);
  stop = true;
  await Promise.all(workers);
  expect(wrong).toEqual([]);
  expect(okBefore).toBeGreaterThan(10);
  expect(unavailableDuring).toBeGreaterThan(10);
  expect(ok - okBeforeEnd).toBeGreaterThan(10); // recovered by itself
  expect(slowest).toBeLessThan(6000); // fail fast: no call waits for Redis to come back
});

test('a Redis that stops answering (frozen, connections open): calls end UNAVAILABLE within the command timeout', async () => {
  await r[0]!.client.submitTask({ taskId: 'frozen-before', method: 'ping' });
  redis.freeze(true);
  try {
    const started = Date.now();
    const err = await expectGrpcError(r[1]!.client.getResult({ taskId: 'frozen-before' }));
    const took = Date.now() - started;
    expect(err.code).toBe(Status.UNAVAILABLE);
    expect(err.details).toMatch(/^Result store unavailable: Redis at .* did not answer \(Command timed out\); retry later$/);
    expect(took).toBeGreaterThanOrEqual(4_000);
    expect(took).toBeLessThan(8_000);
  } finally {
    redis.freeze(false);
  }
  const answer = await eventually(() => r[1]!.client.getResult({ taskId: 'frozen-before' }));
  expect(answer).toEqual({ status: TaskResponse_Status.SUCCESS, result: 'pong', attempts: 1 });
});
