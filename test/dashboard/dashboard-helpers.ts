import { toAny } from '../../src/args/encode-arg';
import type { TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import type { AppConfig } from '../../src/app';
import { startTestServer, type TestServer } from '../helpers/start-server';

/** A real server with the dashboard on 127.0.0.1:0, and the dashboard's base URL. */
export interface DashboardTestServer extends TestServer {
  readonly baseUrl: string;
}

export async function startDashboardServer(config: Partial<AppConfig> = {}): Promise<DashboardTestServer> {
  const server = await startTestServer({ dashboardAddr: '127.0.0.1:0', ...config }, {}, config.authTokens?.length ? { token: config.authTokens[0]! } : {});
  if (!server.dashboardAddress) throw new Error('the dashboard did not start');
  return { ...server, baseUrl: `http://${server.dashboardAddress}` };
}

/** The ids of {@link submitFailingDag}'s tasks. */
export interface FailingDag {
  /** sleep 300 ms: SUCCESS. */
  readonly root: string;
  /** add(1, 2) after root: SUCCESS. */
  readonly ok: string;
  /** fail("disk on fire") after root: FAILED (the failing node). */
  readonly bad: string;
  /** concat after bad and ok: FAILED because its dependency failed. */
  readonly after: string;
}

/**
 * Submits a small DAG (detached, all accepted while `root` still sleeps, so the dependents are
 * accepted and fail later) and waits until every task has finished:
 *
 *   root ─┬─► ok ──┐
 *         └─► bad ─┴─► after
 */
export async function submitFailingDag(client: TaskSchedulerClient, prefix: string): Promise<FailingDag> {
  const dag: FailingDag = { root: `${prefix}root`, ok: `${prefix}ok`, bad: `${prefix}bad`, after: `${prefix}after` };
  await client.submitTask({ taskId: dag.root, method: 'sleep', args: [toAny(300)], detached: true });
  await client.submitTask({ taskId: dag.ok, method: 'add', args: [toAny(1), toAny(2)], deps: [dag.root], detached: true });
  await client.submitTask({ taskId: dag.bad, method: 'fail', args: [toAny('disk on fire')], deps: [dag.root], detached: true });
  await client.submitTask({ taskId: dag.after, method: 'concat', deps: [dag.bad, dag.ok], detached: true });
  for (const id of [dag.root, dag.ok, dag.bad, dag.after]) await client.waitResult({ taskId: id, timeoutMs: 20_000 });
  return dag;
}

/** GET a dashboard JSON endpoint; returns the status and the parsed body. */
export async function getJson<T = unknown>(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T; headers: Headers }> {
  const res = await fetch(`${baseUrl}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T, headers: res.headers };
}
