/**
 * Issue 19 items 2, 3, 5: the limits on connections, unread responses and parked WaitResult calls,
 * each with its message naming the flag, on a real server (port 0).
 */
import { connect as h2connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { effectiveMaxConnections, grpcConnectionOptions, DEFAULT_CONNECTION_LIMITS, openFileLimit } from '../../src/server/connection-limits';
import { ResultRequest } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';

const LONG_SLEEP = [toAny(60_000)];

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

/** Opens a TCP connection that sends nothing; resolves once connected, with a promise of its close. */
function silentSocket(address: string): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(hostPort(address));
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('data', () => undefined);
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('parked WaitResult caps', () => {
  it('refuses a WaitResult over --max-parked-waits-per-connection, and over --max-parked-waits across connections', async () => {
    server = await startTestServer({ maxParkedWaits: 3, maxParkedWaitsPerConnection: 2 });
    const { taskId } = await server.client.submitTask({ method: 'sleep', args: LONG_SLEEP, detached: true });
    const wait = (client: TestServer['client']) => client.waitResult({ taskId, timeoutMs: Long.fromNumber(5000, true) });
    const parked = [wait(server.client), wait(server.client)];
    await new Promise((resolve) => setTimeout(resolve, 200));
    const perConnection = await expectGrpcError(wait(server.client));
    expect(perConnection.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(perConnection.details).toBe('Too many calls: 2 WaitResult calls are parked on this connection, the limit is 2 (--max-parked-waits-per-connection)');

    // Its own connection (grpc-js shares one between channels to the same target otherwise).
    const other = createTaskSchedulerClient(server.address, { channelOptions: { 'grpc.use_local_subchannel_pool': 1 } });
    const third = wait(other.client);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const total = await expectGrpcError(wait(other.client));
    expect(total.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(total.details).toBe('Too many calls: 3 WaitResult calls are parked, the limit is 3 (--max-parked-waits)');

    // A finished task's result is still answered at the cap: only a call that would park is refused.
    const done = await other.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] });
    expect(done.result).toBe('3');
    await expect(other.client.waitResult({ taskId: done.taskId, timeoutMs: Long.fromNumber(5000, true) }).then((r) => r.result)).resolves.toBe('3');

    await server.client.cancelTask({ taskId });
    await Promise.all([...parked, third]);
    // Released: the connection parks again.
    const { taskId: next } = await server.client.submitTask({ method: 'sleep', args: [toAny(100)], detached: true });
    await expect(server.client.waitResult({ taskId: next, timeoutMs: Long.fromNumber(5000, true) }).then((r) => r.result)).resolves.toBe('slept 100 ms');
    other.close();
  });
});

/**
 * `count` GetResults of `taskId` on one new zero-window connection (it never reads a byte): the
 * statuses that came back as headers (`<code> <message>`) within 3 s; then the connection is closed.
 */
async function unreadGetResults(address: string, taskId: string, count: number): Promise<string[]> {
  const session = h2connect(`http://${address}`, { settings: { initialWindowSize: 0 } });
  session.on('error', () => undefined);
  const request = frame(ResultRequest.encode({ taskId }).finish());
  const statuses: string[] = [];
  const calls = Array.from({ length: count }, () => new Promise<void>((resolve) => {
    const stream = session.request({ ':method': 'POST', ':path': '/taskscheduler.TaskScheduler/GetResult', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) statuses.push(`${String(headers['grpc-status'])} ${decodeURIComponent(String(headers['grpc-message']))}`);
      resolve();
    });
    stream.on('error', () => resolve());
    stream.end(request);
    stream.pause();
  }));
  await Promise.race([Promise.all(calls), new Promise((resolve) => setTimeout(resolve, 3000))]);
  session.destroy();
  return statuses;
}

describe('unread responses (a client that never reads)', () => {
  it('answers RESOURCE_EXHAUSTED naming --max-unread-bytes-per-connection once a zero-window connection holds that much', async () => {
    server = await startTestServer({ maxUnreadBytesPerConnection: 300_000, maxUnreadBytes: 0, writeTimeoutMs: 0 });
    await server.client.submitTask({ taskId: 'big', method: 'echo_string', args: [toAny('x'.repeat(200_000))] });
    const statuses = await unreadGetResults(server.address, 'big', 4);
    // One 200 kB response is held unread; the next ones would pass 300 kB.
    expect(statuses.length).toBeGreaterThanOrEqual(2);
    expect(statuses[0]).toMatch(/^8 Too many unread responses: this connection has \d+ bytes of responses it has not read, the limit is 300000 \(--max-unread-bytes-per-connection\)$/);
    // Others are not affected.
    await expect(server.client.getResult({ taskId: 'big' }).then((r) => r.result.length)).resolves.toBe(200_000);
  });

  it('refuses a large stored result as the request arrives, before reading it, once the connection is over its bound', async () => {
    server = await startTestServer({ maxUnreadBytesPerConnection: 300_000, maxUnreadBytes: 0, writeTimeoutMs: 0 });
    await server.client.submitTask({ taskId: 'big', method: 'echo_string', args: [toAny('x'.repeat(200_000))] });
    const reads = jest.spyOn(server.app.scheduler, 'getResult');
    const statuses = await unreadGetResults(server.address, 'big', 20);
    // One 200 kB response fits (and is held unread); the 19 others are refused, and only the one was read.
    expect(statuses.map((status) => status.slice(0, 2))).toEqual(Array(19).fill('8 '));
    expect(reads).toHaveBeenCalledTimes(1);
    reads.mockRestore();
    await expect(server.client.getResult({ taskId: 'big' }).then((r) => r.result.length)).resolves.toBe(200_000);
  });

  it('closes a connection whose unread responses made no progress for --write-timeout-ms', async () => {
    server = await startTestServer({ writeTimeoutMs: 300 });
    await server.client.submitTask({ taskId: 'big', method: 'echo_string', args: [toAny('x'.repeat(200_000))] });
    const session = h2connect(`http://${server.address}`, { settings: { initialWindowSize: 0 } });
    session.on('error', () => undefined);
    const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
    const stream = session.request({ ':method': 'POST', ':path': '/taskscheduler.TaskScheduler/GetResult', 'content-type': 'application/grpc', te: 'trailers' });
    stream.on('error', () => undefined);
    stream.end(frame(ResultRequest.encode({ taskId: 'big' }).finish()));
    stream.pause();
    await expect(Promise.race([closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still open'), 5000))])).resolves.toBe('closed');
  });
});

describe('connections', () => {
  it('closes connections beyond --max-connections and keeps serving the open ones', async () => {
    server = await startTestServer({ maxConnections: 3, handshakeTimeoutMs: 0 });
    // The test client's connection is the first.
    await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] });
    const open = [await silentSocket(server.address), await silentSocket(server.address)];
    const refused = await silentSocket(server.address);
    await expect(Promise.race([refused.closed.then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('open'), 3000))])).resolves.toBe('closed');
    expect(open.every(({ socket }) => !socket.destroyed)).toBe(true);
    await expect(server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] }).then((r) => r.result)).resolves.toBe('3');
    for (const { socket } of open) socket.destroy();
  });

  it('closes a connection that sent no byte within --handshake-timeout-ms, and not one that did', async () => {
    server = await startTestServer({ handshakeTimeoutMs: 200 });
    const silent = await silentSocket(server.address);
    const started = Date.now();
    await silent.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await expect(server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] }).then((r) => r.result)).resolves.toBe('3');
  });

  it('maps the limits to the grpc-js options it honours', () => {
    expect(grpcConnectionOptions(DEFAULT_CONNECTION_LIMITS)).toEqual({
      'grpc.max_concurrent_streams': 1024,
      'grpc-node.max_session_memory': 64,
      'grpc.max_connection_idle_ms': 300_000,
      'grpc.keepalive_time_ms': 120_000,
      'grpc.keepalive_timeout_ms': 20_000,
    });
    expect(effectiveMaxConnections(0, 20_000)).toBe(16_000);
    expect(openFileLimit(() => {
      throw new Error('no /proc');
    })).toBeUndefined();
    expect(effectiveMaxConnections(50, 20_000)).toBe(50);
    expect(openFileLimit(() => 'Max open files            1024                 4096                 files\n')).toBe(1024);
  });
});

describe('streams per connection', () => {
  it('advertises --max-streams-per-connection in its HTTP/2 settings', async () => {
    server = await startTestServer({ maxStreamsPerConnection: 7 });
    const session = h2connect(`http://${server.address}`);
    session.on('error', () => undefined);
    const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) => session.once('remoteSettings', resolve));
    session.destroy();
    expect(settings.maxConcurrentStreams).toBe(7);
  });
});
