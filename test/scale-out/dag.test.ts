/**
 * A 1,000-task DAG submitted detached, round-robin across three replicas sharing a real redis-server,
 * awaited at its sink; every node's result is checked (each depends on its dependencies' results).
 */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import type { TaskDefinition } from '../../src/tasks/task-registry';
import type { TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { sleep, startReplicas, uniquePrefix } from './replicas';

jest.setTimeout(120_000);
const ms = (n: number): Long => Long.fromNumber(n, true);
const NODES = 1_000;
const MOD = 1_000_003;

/** value(i) = (i + sum of its dependencies' values) mod MOD, read from the task context. */
const dagNode: TaskDefinition = {
  name: 'dag_node',
  kind: 'async',
  description: 'i plus its dependencies results, mod 1000003',
  source: 'user',
  fn: async (args, ctx) => {
    const i = args[0]?.kind === 'int32' ? args[0].value : NaN;
    let sum = i;
    for (const value of ctx.dependencyResults.values()) sum = (sum + Number(value)) % MOD;
    await sleep(i % 4); // a little real waiting, so tasks overlap
    return String(sum);
  },
};

const depsOf = (i: number): number[] => (i === 0 ? [] : [...new Set([Math.floor((i - 1) / 2), Math.floor(i * 0.7)])]);

let redis: RedisInstance;
let r: TestServer[];
beforeAll(async () => {
  redis = await startRedis();
  r = await startReplicas(3, redis.url, uniquePrefix('dag'), {}, [dagNode]);
});
afterAll(async () => {
  await Promise.allSettled((r ?? []).map((replica) => replica.close()));
  await redis?.close();
});

test('1,000-task DAG across three replicas: the sink and every node hold the right result', async () => {
  const expected: number[] = [];
  const hasDependents = new Set<number>();
  for (let i = 0; i < NODES; i++) {
    const deps = depsOf(i);
    for (const dep of deps) hasDependents.add(dep);
    expected.push(deps.reduce((sum, dep) => (sum + expected[dep]!) % MOD, i));
  }
  // Submitted round-robin in waves of up to 20 concurrent calls, each wave's deps in earlier waves.
  for (let start = 0, end = 1; start < NODES; start = end) {
    end = start + 1;
    while (end < NODES && end - start < 20 && depsOf(end).every((dep) => dep < start)) end++;
    const wave: Array<Promise<unknown>> = [];
    for (let i = start; i < end; i++) {
      const deps = depsOf(i).map((dep) => `node-${dep}`);
      wave.push(r[i % 3]!.client.submitTask({ taskId: `node-${i}`, method: 'dag_node', args: [toAny(i)], deps, detached: true }).then((answer) => {
        expect(answer.taskId).toBe(`node-${i}`);
      }));
    }
    await Promise.all(wave);
  }
  const leaves = Array.from({ length: NODES }, (_, i) => i).filter((i) => !hasDependents.has(i));
  await r[1]!.client.submitTask({ taskId: 'sink', method: 'concat', args: [], deps: leaves.map((i) => `node-${i}`), injectDependencyResults: true, detached: true });
  const sink = await r[2]!.client.waitResult({ taskId: 'sink', timeoutMs: ms(30_000) });
  expect(sink).toEqual({ status: TaskResponse_Status.SUCCESS, result: leaves.map((i) => String(expected[i])).join(''), attempts: 1 });
  for (let i = 0; i < NODES; i++) {
    const answer = await r[(i + 1) % 3]!.client.getResult({ taskId: `node-${i}` });
    if (answer.status !== TaskResponse_Status.SUCCESS || answer.result !== String(expected[i])) {
      throw new Error(`node-${i}: expected SUCCESS ${expected[i]}, got ${JSON.stringify(answer)}`);
    }
  }
  // Every replica ran a share of them (round-robin, owned where submitted).
  for (const replica of r) expect(replica.app.scheduler.stats().inFlight).toBe(0);
});
