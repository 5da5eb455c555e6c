/**
 * The servers under test: ours (the compiled CLI, started exactly as a user would) and the bare grpc-js
 * baseline. Both bind 127.0.0.1 only, on ports picked free just before they start.
 */
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TaskResponse_Status } from '../generated/taskscheduler/task_scheduler';
import { toAny } from '../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../src/client/create-client';
import { shellQuote } from './h2load-runner';
import { scrapeBaselineCounts, scrapeOurCounts, type CallCounts } from './metrics';
import { BASELINE_MAIN, REPO_ROOT, SERVER_MAIN, SERVER_NODE_FLAGS } from './paths';
import { cpuSeconds, rssBytes } from './proc-stats';
import { describeExit, startProcess, tail, type RunningProcess } from './process-runner';
import { SUBMIT_TASK_PATH } from './grpc-frame';

/** How long a server may take to start answering. */
const START_TIMEOUT_MS = 30_000;

/** A server the bench drives. */
export interface ServerUnderTest {
  readonly label: string;
  readonly pid: number;
  /** gRPC `127.0.0.1:<port>`. */
  readonly address: string;
  /** Where h2load posts SubmitTask. */
  readonly submitUrl: string;
  /** The command line it was started with (for the report). */
  readonly command: string;
  /** A typed client on its own channel. */
  readonly connection: TaskSchedulerConnection;
  /** Its success/failure counters, or undefined when it has none (our server with metrics off). */
  counts(): Promise<CallCounts> | undefined;
  /** Resident memory now, bytes. */
  rss(): number;
  /** CPU seconds used so far (all threads). */
  cpu(): number;
  stop(): Promise<void>;
}

/** Our server, plus its metrics endpoint when on. */
export interface OurServer extends ServerUnderTest {
  readonly metricsAddress: string | undefined;
}

/** A TCP port free on 127.0.0.1 right now (bind to 0, read, close). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('could not pick a free port');
  return address.port;
}

/**
 * The sampled gRPC check: `add(1, 2)` must answer SUCCESS "3". Run on every server right after it
 * starts and after runs whose calls no counter confirms (our server with metrics off).
 */
export async function verifyAdd(server: ServerUnderTest): Promise<void> {
  const response = await server.connection.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] });
  if (response.status !== TaskResponse_Status.SUCCESS || response.result !== '3') {
    throw new Error(`${server.label}: add(1, 2) answered ${TaskResponse_Status[response.status]} ${JSON.stringify(response.result)}, expected SUCCESS "3"`);
  }
}

/** Retries `attempt` every 100 ms until it resolves, the process dies, or the start timeout passes. */
async function untilAnswering(proc: RunningProcess, what: string, attempt: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (!proc.running()) {
      const status = await proc.exited;
      throw new Error(`${proc.name} exited (${describeExit(status)}) before ${what} answered:\n${tail(proc.stdout() + proc.stderr())}`);
    }
    try {
      await attempt();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`${proc.name}: ${what} not answering after ${START_TIMEOUT_MS} ms (${error instanceof Error ? error.message : String(error)}):\n${tail(proc.stdout() + proc.stderr())}`);
      }
      await sleep(100);
    }
  }
}

function commonParts(label: string, proc: RunningProcess, address: string, command: string, connection: TaskSchedulerConnection) {
  return {
    label,
    pid: proc.pid,
    address,
    submitUrl: `http://${address}${SUBMIT_TASK_PATH}`,
    command,
    connection,
    rss: () => rssBytes(proc.pid),
    cpu: () => cpuSeconds(proc.pid) ?? Number.NaN,
    async stop() {
      connection.close();
      const status = await proc.stop(15_000);
      // Our server drains and exits 0 on SIGTERM; anything else is worth a line in the log.
      if (status.code !== 0) process.stderr.write(`[bench] ${label} exited with ${describeExit(status)}\n`);
    },
  };
}

/**
 * Starts `node dist/src/cli/main.js -a 127.0.0.1:<free port> --log-dir '' --log-level warn …` from the
 * repository root (so the default plugin directory loads, as with `npm start`), with metrics on a second
 * free port when asked, and waits until it answers a real call.
 */
export async function startOurServer(label: string, options: { metrics: boolean; extraArgs?: readonly string[]; env?: NodeJS.ProcessEnv; main?: string }): Promise<OurServer> {
  const main = options.main ?? SERVER_MAIN;
  const address = `127.0.0.1:${await freePort()}`;
  const metricsAddress = options.metrics ? `127.0.0.1:${await freePort()}` : undefined;
  const args = [
    ...SERVER_NODE_FLAGS,
    main,
    '-a', address,
    '--log-dir', '',
    '--log-level', 'warn',
    ...(metricsAddress ? ['--metrics-addr', metricsAddress] : []),
    ...(options.extraArgs ?? []),
  ];
  const proc = startProcess(label, process.execPath, args, { cwd: REPO_ROOT, ...(options.env ? { env: { ...process.env, ...options.env } } : {}) });
  const connection = createTaskSchedulerClient(address);
  const command = shellQuote(['node', ...SERVER_NODE_FLAGS, path.relative(REPO_ROOT, main), ...args.slice(SERVER_NODE_FLAGS.length + 1)]);
  const server: OurServer = {
    ...commonParts(label, proc, address, command, connection),
    metricsAddress,
    counts: () => (metricsAddress ? scrapeOurCounts(metricsAddress) : undefined),
  };
  try {
    // The ready line is logged at info, below --log-level warn: wait for a real answer instead.
    await untilAnswering(proc, 'gRPC', () => connection.client.listTasks({}, { signal: AbortSignal.timeout(1000) }));
    if (metricsAddress) await untilAnswering(proc, 'metrics', () => scrapeOurCounts(metricsAddress));
    await verifyAdd(server);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

/** Starts the bare grpc-js baseline (bench/baseline-server.ts) and waits for its ready line. */
export async function startBaselineServer(label: string, nodeFlags: readonly string[] = []): Promise<ServerUnderTest> {
  const address = `127.0.0.1:${await freePort()}`;
  const countAddress = `127.0.0.1:${await freePort()}`;
  const args = [...nodeFlags, BASELINE_MAIN, address, countAddress];
  const proc = startProcess(label, process.execPath, args, { cwd: REPO_ROOT });
  const connection = createTaskSchedulerClient(address);
  const server: ServerUnderTest = {
    ...commonParts(label, proc, address, shellQuote(['node', ...nodeFlags, path.relative(REPO_ROOT, BASELINE_MAIN), address, countAddress]), connection),
    counts: () => scrapeBaselineCounts(countAddress),
  };
  try {
    await proc.waitForOutput(/baseline listening on/, START_TIMEOUT_MS);
    await verifyAdd(server);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}
