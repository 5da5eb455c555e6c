/**
 * The probes of issue 19, each a hostile or careless client using only legal requests and standard
 * HTTP/2 against a fresh server. A probe runs until `ctx.over()` (its time is up, or the server's RSS
 * passed the bound, or it died) and returns one line saying how the server answered.
 */
import { connect as h2connect, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import Long from 'long';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { toAny } from '../../src/args/encode-arg';
import { ResultRequest, TaskSchedulerDefinition, WaitResultRequest } from '../../generated/taskscheduler/task_scheduler';
import { describe, flood, newStats, sleep } from './flood';
import { answers, deadline, httpAnswers } from './observer';
import type { ServerUnderTest } from './server';

export interface ProbeContext {
  readonly server: ServerUnderTest;
  /** True once the probe should stop. */
  over(): boolean;
  /** Token the server was started with (probes 7 and 8). */
  readonly token?: string;
}

export interface Probe {
  readonly id: string;
  readonly title: string;
  /** Extra server flags. */
  readonly args?: readonly string[];
  readonly token?: string;
  /** Seconds the probe runs (the observer measures during that time). */
  readonly seconds: number;
  /** Whose fix this is, when not this branch's. */
  readonly owner?: string;
  run(ctx: ProbeContext): Promise<string>;
}

const MIB = 1024 * 1024;
const BIG = 'x'.repeat(MIB - 64);
const path = (method: keyof typeof TaskSchedulerDefinition.methods) => `/${TaskSchedulerDefinition.fullName}/${TaskSchedulerDefinition.methods[method].name}`;

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function clients(address: string, count: number, token?: string): TaskSchedulerConnection[] {
  return Array.from({ length: count }, () => createTaskSchedulerClient(address, token ? { token } : {}));
}

function closeAll(connections: readonly TaskSchedulerConnection[]): void {
  for (const connection of connections) connection.close();
}

/** A detached task that never finishes while the probe runs (something to depend on or wait for). */
async function blocker(connection: TaskSchedulerConnection, taskId: string): Promise<string> {
  const answer = await connection.client.submitTask({ taskId, method: 'sleep', args: [toAny(600_000)], detached: true }, { signal: deadline() });
  return answer.taskId;
}

function openFileLimit(): number {
  const line = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'));
  return line ? Number(line[1]) : 1024;
}

export const PROBES: readonly Probe[] = [
  {
    id: '1',
    title: 'heap: detached sleeps carrying 3 × 1 MiB args',
    seconds: 20,
    async run(ctx) {
      const pool = clients(ctx.server.grpc, 4);
      const stats = newStats();
      const args = [toAny(600_000), toAny(BIG), toAny(BIG), toAny(BIG)];
      await flood(8, ctx.over, (i) => pool[i % 4]!.client.submitTask({ method: 'sleep', args, detached: true }, { signal: deadline() }), stats, 50);
      closeAll(pool);
      return describe(stats);
    },
  },
  {
    id: '1b',
    title: 'heap: dependents with 1,000 deps of 256 characters',
    seconds: 20,
    async run(ctx) {
      const [setup] = clients(ctx.server.grpc, 1);
      const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => blocker(setup!, `${i}`.padStart(256, 'b'))));
      setup!.close();
      const deps = Array.from({ length: 1000 }, (_, i) => ids[i % ids.length]!);
      const pool = clients(ctx.server.grpc, 4);
      const stats = newStats();
      await flood(16, ctx.over, (i) => pool[i % 4]!.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)], deps, detached: true }, { signal: deadline() }), stats, 50);
      closeAll(pool);
      return describe(stats);
    },
  },
  {
    id: '2',
    title: 'zero-window reader: GetResult of a 3 MiB result, never read',
    seconds: 20,
    async run(ctx) {
      const [setup] = clients(ctx.server.grpc, 1);
      await setup!.client.submitTask({ taskId: 'big', method: 'echo_string', args: [toAny(BIG), toAny(BIG), toAny(BIG)] }, { signal: deadline(30_000) });
      setup!.close();
      const request = frame(ResultRequest.encode({ taskId: 'big' }).finish());
      const sessions: ClientHttp2Session[] = [];
      let opened = 0;
      let headers = 0;
      let refused = 0;
      const codes = new Map<string, number>();
      const streams: ClientHttp2Stream[] = [];
      for (let s = 0; s < 8 && !ctx.over(); s++) {
        const session = h2connect(`http://${ctx.server.grpc}`, { settings: { initialWindowSize: 0 } });
        session.on('error', () => undefined);
        sessions.push(session);
      }
      // Up to 250 streams per connection, a few at a time, none ever read.
      while (!ctx.over() && opened < sessions.length * 250) {
        for (const session of sessions) {
          if (session.destroyed || session.closed) continue;
          for (let k = 0; k < 10; k++) {
            let stream: ClientHttp2Stream;
            try {
              stream = session.request({ ':method': 'POST', ':path': path('getResult'), 'content-type': 'application/grpc', te: 'trailers' });
            } catch {
              refused++;
              continue;
            }
            opened++;
            stream.on('response', () => headers++);
            stream.on('error', () => undefined);
            stream.on('close', () => {
              if (stream.rstCode) codes.set(`rst ${stream.rstCode}`, (codes.get(`rst ${stream.rstCode}`) ?? 0) + 1);
            });
            stream.end(request);
            stream.pause();
            streams.push(stream);
          }
        }
        await sleep(50);
      }
      while (!ctx.over()) await sleep(100);
      const closedByServer = sessions.filter((session) => session.destroyed || session.closed).length;
      for (const session of sessions) session.destroy();
      return `${opened} streams opened on ${sessions.length} connections, ${headers} answered with headers, ${refused} not opened; streams reset: ${JSON.stringify(Object.fromEntries(codes))}; connections closed by the server: ${closedByServer}`;
    },
  },
  {
    id: '3',
    title: 'idle connections (20k or the fd limit), dashboard and metrics meanwhile',
    seconds: 25,
    async run(ctx) {
      const target = Math.min(20_000, openFileLimit() - 1000);
      const [host, port] = [ctx.server.grpc.split(':')[0]!, Number(ctx.server.grpc.split(':')[1])];
      const sockets: Socket[] = [];
      let connected = 0;
      let failed = 0;
      let closedByServer = 0;
      for (let i = 0; i < target && !ctx.over(); i += 500) {
        await Promise.all(
          Array.from({ length: Math.min(500, target - i) }, () => new Promise<void>((resolve) => {
            const socket = netConnect({ host, port });
            sockets.push(socket);
            socket.once('connect', () => {
              connected++;
              resolve();
            });
            socket.once('error', () => {
              failed++;
              resolve();
            });
            socket.once('close', () => {
              closedByServer++;
            });
            socket.on('data', () => undefined);
          })),
        );
      }
      await sleep(1000);
      const [grpcOk, metricsOk, dashboardOk] = await Promise.all([answers(ctx.server.grpc), httpAnswers(ctx.server.metrics, '/metrics'), httpAnswers(ctx.server.dashboard, '/')]);
      while (!ctx.over()) await sleep(200);
      const stillOpen = sockets.filter((socket) => !socket.destroyed).length;
      for (const socket of sockets) socket.destroy();
      return `${connected} of ${target} connected (${failed} failed); with them open: new gRPC client ${grpcOk ? 'answered' : 'NOT answered'}, metrics ${metricsOk ? 'answered' : 'NOT answered'}, dashboard ${dashboardOk ? 'answered' : 'NOT answered'}; closed by the server by the end: ${closedByServer} (${stillOpen} still open)`;
    },
  },
  {
    id: '4',
    title: 'dependents flood (deps on a never-finishing task) vs independent add',
    seconds: 20,
    async run(ctx) {
      const pool = clients(ctx.server.grpc, 4);
      const id = await blocker(pool[0]!, 'never');
      const stats = newStats();
      const dependencyTimeoutMs = Long.fromNumber(86_400_000, true);
      await flood(64, ctx.over, (i) => pool[i % 4]!.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)], deps: [id], detached: true, dependencyTimeoutMs }, { signal: deadline() }), stats, 500);
      closeAll(pool);
      return `dependents: ${describe(stats)}`;
    },
  },
  {
    id: '5',
    title: 'parked WaitResult long-polls',
    seconds: 20,
    async run(ctx) {
      const [setup] = clients(ctx.server.grpc, 1);
      const id = await blocker(setup!, 'parked');
      setup!.close();
      const request = frame(WaitResultRequest.encode({ taskId: id, timeoutMs: Long.fromNumber(30_000, true) }).finish());
      const sessions: ClientHttp2Session[] = [];
      let opened = 0;
      const statuses = new Map<string, number>();
      for (let s = 0; s < 40; s++) {
        const session = h2connect(`http://${ctx.server.grpc}`);
        session.on('error', () => undefined);
        sessions.push(session);
      }
      while (!ctx.over() && opened < 150_000) {
        for (const session of sessions) {
          if (session.destroyed || session.closed) continue;
          for (let k = 0; k < 50; k++) {
            try {
              const stream = session.request({ ':method': 'POST', ':path': path('waitResult'), 'content-type': 'application/grpc', te: 'trailers' });
              opened++;
              stream.on('trailers', (trailers) => {
                const key = `grpc-status ${String(trailers['grpc-status'])}${trailers['grpc-message'] ? ` "${decodeURIComponent(String(trailers['grpc-message'])).slice(0, 120)}"` : ''}`;
                statuses.set(key, (statuses.get(key) ?? 0) + 1);
              });
              stream.on('response', (headers) => {
                if (headers['grpc-status'] !== undefined) {
                  const key = `grpc-status ${String(headers['grpc-status'])}${headers['grpc-message'] ? ` "${decodeURIComponent(String(headers['grpc-message'])).slice(0, 120)}"` : ''}`;
                  statuses.set(key, (statuses.get(key) ?? 0) + 1);
                }
              });
              stream.on('error', () => undefined);
              stream.resume();
              stream.end(request);
            } catch {
              break;
            }
          }
        }
        await sleep(20);
      }
      while (!ctx.over()) await sleep(100);
      for (const session of sessions) session.destroy();
      return `${opened} WaitResult calls opened on ${sessions.length} connections; answered so far: ${JSON.stringify(Object.fromEntries(statuses))}`;
    },
  },
  {
    id: '6',
    title: 'watchdog: many running detached sleeps',
    seconds: 25,
    owner: 'hardening-misc',
    async run(ctx) {
      const pool = clients(ctx.server.grpc, 4);
      const stats = newStats();
      const startBytes = ctx.server.outputBytes();
      await flood(64, ctx.over, (i) => pool[i % 4]!.client.submitTask({ method: 'sleep', args: [toAny(600_000)], detached: true }, { signal: deadline() }), stats, 500);
      closeAll(pool);
      return `sleeps: ${describe(stats)}; server log written during the probe: ${((ctx.server.outputBytes() - startBytes) / MIB).toFixed(1)} MiB`;
    },
  },
  {
    id: '7',
    title: 'bad authorization metadata (tab / non-ASCII around a valid token)',
    seconds: 10,
    token: 'abuse-secret-token',
    owner: 'hardening-misc',
    async run(ctx) {
      const session = h2connect(`http://${ctx.server.grpc}`);
      session.on('error', () => undefined);
      const startBytes = ctx.server.outputBytes();
      let sent = 0;
      const values = [`Bearer\t${ctx.token}`, `Bearer ${ctx.token}\u00e9`];
      while (!ctx.over() && !session.destroyed) {
        for (let k = 0; k < 50; k++) {
          try {
            const stream = session.request({ ':method': 'POST', ':path': path('getResult'), 'content-type': 'application/grpc', te: 'trailers', authorization: values[sent % 2]! });
            sent++;
            stream.on('error', () => undefined);
            stream.resume();
            stream.end(frame(ResultRequest.encode({ taskId: 'x' }).finish()));
          } catch {
            break;
          }
        }
        await sleep(10);
      }
      session.destroy();
      await sleep(300);
      const leaked = ctx.server.stderrText().includes(ctx.token!);
      return `${sent} calls with a bad authorization value; server output during the probe ${((ctx.server.outputBytes() - startBytes) / MIB).toFixed(1)} MiB; token in the server's output: ${leaked ? 'YES' : 'no'}`;
    },
  },
];

/** Probe 8 is about start-up, not load: does `--auth-token ''` start with auth off? */
export const EMPTY_TOKEN_PROBE_ID = '8';
