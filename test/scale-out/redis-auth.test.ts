/** A Redis that requires a password: given in the URL it works; missing or wrong, calls say why. */
import { toAny } from '../../src/args/encode-arg';
import { expectGrpcError, Status, type TestServer } from '../helpers/start-server';
import { startRedis, type RedisInstance } from '../helpers/redis-server';
import { startReplicas, uniquePrefix } from './replicas';

jest.setTimeout(60_000);

let redis: RedisInstance;
const started: TestServer[] = [];
beforeAll(async () => {
  redis = await startRedis({ password: 's3cret' });
});
afterAll(async () => {
  await Promise.allSettled(started.map((replica) => replica.close()));
  await redis?.close();
});

test('the password in the URL: replicas work together', async () => {
  const url = `redis://:s3cret@127.0.0.1:${redis.port}`;
  const [a, b] = await startReplicas(2, url, uniquePrefix('auth'));
  started.push(a!, b!);
  await a!.client.submitTask({ taskId: 'p-a', method: 'ping', args: [toAny('x')] });
  expect((await b!.client.getResult({ taskId: 'p-a' })).result).toBe('pong: x');
});

test.each([
  ['no password', `redis://127.0.0.1:PORT`, 'NOAUTH Authentication required.'],
  ['a wrong password', `redis://:nope@127.0.0.1:PORT`, 'WRONGPASS'],
])('%s: UNAVAILABLE naming the reason, never the password', async (_name, template, reason) => {
  const [replica] = await startReplicas(1, template.replace('PORT', String(redis.port)), uniquePrefix('noauth'));
  started.push(replica!);
  const err = await expectGrpcError(replica!.client.getResult({ taskId: 'p-a' }));
  expect(err.code).toBe(Status.UNAVAILABLE);
  expect(err.details).toContain(`Result store unavailable: Redis at redis://127.0.0.1:${redis.port} did not answer (not connected: ${reason}`);
  expect(err.details).not.toContain('nope');
});
