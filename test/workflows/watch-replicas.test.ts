/**
 * WatchTasks across two Redis replicas: a batch submitted on one, watched on the other, which sees
 * each task's state when the watch began and its final state (transitions reach it through Redis).
 */
import { toAny } from '../../src/args/encode-arg';
import { submitTasks, watchTasks, type WorkflowEvent } from '../../src/client/workflows';
import type { TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { startReplicas, uniquePrefix } from '../scale-out/replicas';

jest.setTimeout(60_000);

let redis: RedisInstance;
let r: TestServer[];
beforeAll(async () => {
  redis = await startRedis();
  r = await startReplicas(2, redis.url, uniquePrefix('watch'));
});
afterAll(async () => {
  await Promise.allSettled((r ?? []).map((replica) => replica.close()));
  await redis?.close();
});

test('a batch accepted on replica 1 is followed to its end from replica 2', async () => {
  const ids = ['w-a', 'w-b', 'w-c'];
  await submitTasks(r[0]!.client, [
    { taskId: 'w-c', method: 'concat', args: [], deps: ['w-a', 'w-b'], injectDependencyResults: true },
    { taskId: 'w-a', method: 'sleep', args: [toAny(200)] },
    { taskId: 'w-b', method: 'fail', deps: [] },
  ]);
  const events: WorkflowEvent[] = [];
  for await (const event of watchTasks(r[1]!.client, ids)) events.push(event);
  const final = (taskId: string) => events.filter((event) => event.taskId === taskId).pop()!;
  expect(final('w-a')).toMatchObject({ status: 'SUCCESS', result: 'slept 200 ms', finished: true });
  expect(final('w-b')).toMatchObject({ status: 'FAILED', finished: true });
  expect(final('w-c')).toMatchObject({ status: 'FAILED', result: expect.stringContaining('Dependency failed') });
  for (const taskId of ids) expect(events.filter((event) => event.taskId === taskId)[0]!.kind).toBe('initial');
  // The slow task was unfinished when the watch began: its end came as a transition from replica 1.
  expect(events.filter((event) => event.taskId === 'w-a').map((event) => event.kind)).toEqual(['initial', 'transition']);
});
