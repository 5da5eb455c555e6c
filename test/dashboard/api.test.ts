/**
 * The dashboard's JSON read API (`--dashboard-addr`) against a real server: overview counts, the task
 * history with its filters, a task's detail, the dependency graph, the registry, the live stream,
 * security headers, bounds on queries, and that the dashboard is off (and costs nothing) by default.
 */
import { request } from 'node:http';
import { toAny } from '../../src/args/encode-arg';
import type { Overview, RegistryView, TaskDetail } from '../../src/dashboard/dashboard-api';
import { CONTENT_SECURITY_POLICY } from '../../src/dashboard/dashboard-server';
import type { TaskGraph } from '../../src/dashboard/task-graph';
import type { TaskSummary } from '../../src/dashboard/task-history';
import { startTestServer } from '../helpers/start-server';
import { getJson, startDashboardServer, submitFailingDag, type DashboardTestServer, type FailingDag } from './dashboard-helpers';

jest.setTimeout(60_000);

interface TaskList {
  readonly tasks: TaskSummary[];
  readonly matched: number;
  readonly methods: string[];
  readonly version: number;
}

describe('dashboard read API', () => {
  let server: DashboardTestServer;
  let dag: FailingDag;

  beforeAll(async () => {
    server = await startDashboardServer();
    dag = await submitFailingDag(server.client, 'api-');
  });
  afterAll(() => server.close());

  test('overview counts the DAG: 2 succeeded, 2 failed, nothing running or pending', async () => {
    const { status, body } = await getJson<Overview>(server.baseUrl, '/api/overview');
    expect(status).toBe(200);
    expect(body.totals).toEqual({ accepted: 4, started: 3, succeeded: 2, failed: 2, cancelled: 0 });
    expect(body.running).toBe(0);
    expect(body.pending).toBe(0);
    expect(body.results.count).toBe(4);
    expect(body.history).toEqual({ size: 4, capacity: 10_000, bytes: expect.any(Number), maxBytes: 64 * 1024 * 1024, version: expect.any(Number) });
    expect(body.history.bytes).toBeGreaterThan(4 * 300);
    expect(body.uptimeSeconds).toBeGreaterThanOrEqual(0);
    expect(body.eventLoopDelayMs.p99).toBeGreaterThanOrEqual(0);
    expect(body.workerPool).toEqual({ threads: expect.any(Number), busy: 0 });
    expect(body.authRequired).toBe(false);
  });

  test('tasks: newest first, with method, status, times and run time', async () => {
    const { status, body } = await getJson<TaskList>(server.baseUrl, '/api/tasks');
    expect(status).toBe(200);
    expect(body.tasks.map((task) => task.taskId)).toEqual([dag.after, dag.bad, dag.ok, dag.root]);
    expect(body.matched).toBe(4);
    expect(body.methods).toEqual(['add', 'concat', 'fail', 'sleep']);
    const root = body.tasks.find((task) => task.taskId === dag.root)!;
    expect(root).toMatchObject({ method: 'sleep', status: 'SUCCESS', args: '[{"int32":300}]', deps: [] });
    expect(root.runMs).toBeGreaterThanOrEqual(250);
    expect(root.startedAt).toBeGreaterThanOrEqual(root.submittedAt);
    expect(root.finishedAt).toBeGreaterThanOrEqual(root.startedAt!);
    const after = body.tasks.find((task) => task.taskId === dag.after)!;
    expect(after.status).toBe('FAILED');
    // It never started (its dependency failed while it waited): no start time, no run time.
    expect(after.startedAt).toBeUndefined();
    expect(after.runMs).toBeUndefined();
    expect(after.error).toContain(dag.bad);
  });

  test('tasks: filter by status and method, search by id, bounded limit', async () => {
    const ids = async (query: string) => (await getJson<TaskList>(server.baseUrl, `/api/tasks?${query}`)).body.tasks.map((task) => task.taskId);
    expect(await ids('status=FAILED')).toEqual([dag.after, dag.bad]);
    expect(await ids('status=SUCCESS&method=add')).toEqual([dag.ok]);
    expect(await ids('method=fail')).toEqual([dag.bad]);
    expect(await ids('q=ro')).toEqual([dag.root]);
    expect(await ids('q=api-')).toHaveLength(4);
    expect(await ids('limit=1')).toEqual([dag.after]);
    const limited = await getJson<TaskList>(server.baseUrl, '/api/tasks?limit=2');
    expect(limited.body.matched).toBe(4);

    const badStatus = await getJson<{ error: string }>(server.baseUrl, '/api/tasks?status=BROKEN');
    expect(badStatus.status).toBe(400);
    expect(badStatus.body.error).toBe('status must be one of PENDING, RUNNING, SUCCESS, FAILED, CANCELLED, got "BROKEN"');
    const badLimit = await getJson<{ error: string }>(server.baseUrl, '/api/tasks?limit=100000');
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error).toMatch(/^limit must be a whole number from 1 to 500/);
    const longSearch = await getJson<{ error: string }>(server.baseUrl, `/api/tasks?q=${'x'.repeat(2000)}`);
    expect(longSearch.status).toBe(400);
    expect(longSearch.body.error).toBe('q is longer than 1024 characters');
  });

  test("the failed task's detail: args as canonical JSON, the error, its dependencies and dependents", async () => {
    const { status, body } = await getJson<TaskDetail>(server.baseUrl, `/api/tasks/${dag.bad}`);
    expect(status).toBe(200);
    expect(body.task).toMatchObject({
      taskId: dag.bad,
      method: 'fail',
      status: 'FAILED',
      args: '[{"string":"disk on fire"}]',
      result: 'disk on fire',
      failure: { code: 'INTERNAL', message: 'Task execution failed: disk on fire' },
      stored: true,
      inHistory: true,
    });
    expect(body.dependencies).toEqual([{ taskId: dag.root, method: 'sleep', status: 'SUCCESS' }]);
    expect(body.dependents).toEqual([{ taskId: dag.after, method: 'concat', status: 'FAILED' }]);

    const ok = await getJson<TaskDetail>(server.baseUrl, `/api/tasks/${dag.ok}`);
    expect(ok.body.task).toMatchObject({ status: 'SUCCESS', result: '3', args: '[{"int32":1},{"int32":2}]', failure: null });
    const root = await getJson<TaskDetail>(server.baseUrl, `/api/tasks/${dag.root}`);
    expect(root.body.dependents.map((link) => link.taskId)).toEqual([dag.ok, dag.bad]);
  });

  test('the graph around the failed task holds the whole DAG, laid out, with statuses', async () => {
    const { status, body } = await getJson<TaskGraph>(server.baseUrl, `/api/tasks/${dag.bad}/graph`);
    expect(status).toBe(200);
    const byId = new Map(body.nodes.map((node) => [node.id, node]));
    expect([...byId.keys()].sort()).toEqual([dag.after, dag.bad, dag.ok, dag.root].sort());
    expect(byId.get(dag.bad)).toMatchObject({ status: 'FAILED', method: 'fail', focus: true });
    expect(byId.get(dag.root)).toMatchObject({ status: 'SUCCESS', focus: false });
    expect(body.edges.map((edge) => `${edge.from}>${edge.to}`).sort()).toEqual(
      [`${dag.root}>${dag.ok}`, `${dag.root}>${dag.bad}`, `${dag.bad}>${dag.after}`, `${dag.ok}>${dag.after}`].sort(),
    );
    // Laid out left to right: a dependency sits left of its dependents.
    expect(byId.get(dag.root)!.x).toBeLessThan(byId.get(dag.bad)!.x);
    expect(byId.get(dag.bad)!.x).toBeLessThan(byId.get(dag.after)!.x);
    for (const edge of body.edges) expect(edge.points.length).toBeGreaterThanOrEqual(2);
    expect(body.truncated).toBe(false);
    expect(body.width).toBeGreaterThan(0);

    const shallow = await getJson<TaskGraph>(server.baseUrl, `/api/tasks/${dag.bad}/graph?depth=1`);
    expect(shallow.body.nodes.map((node) => node.id).sort()).toEqual([dag.after, dag.bad, dag.root].sort());
    expect(shallow.body.truncated).toBe(true);
    expect((await getJson(server.baseUrl, `/api/tasks/${dag.bad}/graph?depth=99`)).status).toBe(400);
  });

  test('unknown tasks are 404; ids with reserved characters work percent-encoded', async () => {
    const missing = await getJson<{ error: string }>(server.baseUrl, '/api/tasks/no-such-task');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/^unknown task: "no-such-task"/);
    expect((await getJson(server.baseUrl, '/api/tasks/no-such-task/graph')).status).toBe(404);
    expect((await getJson(server.baseUrl, '/api/tasks/%E0%A4%A')).status).toBe(400);

    const odd = 'dir/with space?&#%';
    await server.client.submitTask({ taskId: odd, method: 'ping' });
    const detail = await getJson<TaskDetail>(server.baseUrl, `/api/tasks/${encodeURIComponent(odd)}`);
    expect(detail.status).toBe(200);
    expect(detail.body.task).toMatchObject({ taskId: odd, status: 'SUCCESS', result: 'pong' });
  });

  test('a task evicted from the history is still shown from the result store', async () => {
    const small = await startDashboardServer({ dashboardHistory: 2 });
    try {
      await small.client.submitTask({ taskId: 'first', method: 'add', args: [toAny(2), toAny(2)] });
      await small.client.submitTask({ taskId: 'second', method: 'ping' });
      await small.client.submitTask({ taskId: 'third', method: 'ping' });
      const list = await getJson<TaskList>(small.baseUrl, '/api/tasks');
      expect(list.body.tasks.map((task) => task.taskId)).toEqual(['third', 'second']);
      const first = await getJson<TaskDetail>(small.baseUrl, '/api/tasks/first');
      expect(first.body.task).toMatchObject({ taskId: 'first', status: 'SUCCESS', result: '4', args: '[{"int32":2},{"int32":2}]', inHistory: false, stored: true });
    } finally {
      await small.close();
    }
  });

  test('registry: tasks with kind, source and description; loaded plugins', async () => {
    const { status, body } = await getJson<RegistryView>(server.baseUrl, '/api/registry');
    expect(status).toBe(200);
    expect(body.tasks.find((task) => task.name === 'fail')).toEqual({
      name: 'fail', kind: 'sync', worker: false, source: 'builtin', description: 'Always fails with the first string argument (or "fail")',
    });
    expect(body.tasks.find((task) => task.name === 'fib')).toMatchObject({ kind: 'sync', worker: true });
    expect(body.tasks.find((task) => task.name === 'sleep')).toMatchObject({ kind: 'async' });
    expect(body.tasks.find((task) => task.name === 'plugin_example::multiply')).toMatchObject({ source: 'plugin:plugin_example' });
    expect(body.plugins).toEqual([
      { name: 'plugin_example', file: expect.stringMatching(/libraries\/plugin_example\.js$/), tasks: ['plugin_example::multiply', 'plugin_example::delayed_echo'] },
    ]);
  });

  test('live stream: server-sent overview snapshots, the next one after a task finished', async () => {
    const controller = new AbortController();
    const res = await fetch(`${server.baseUrl}/api/events`, { signal: controller.signal });
    try {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      const nextOverview = async (): Promise<Overview> => {
        for (;;) {
          const end = buffered.indexOf('\n\n');
          if (end >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = /^event: overview\ndata: (.*)$/m.exec(block);
            if (data) return JSON.parse(data[1]!) as Overview;
            continue;
          }
          const { value, done } = await reader.read();
          if (done) throw new Error('the stream ended');
          buffered += decoder.decode(value, { stream: true });
        }
      };
      const first = await nextOverview();
      await server.client.submitTask({ method: 'ping' });
      const second = await nextOverview();
      expect(second.totals.succeeded).toBe(first.totals.succeeded + 1);
      expect(second.history.version).toBeGreaterThan(first.history.version);
    } finally {
      controller.abort();
    }
  });

  test('security headers on every answer; read-only; unknown paths 404', async () => {
    for (const path of ['/', '/api/overview', '/app.js', '/nope']) {
      const res = await fetch(`${server.baseUrl}${path}`);
      expect(res.headers.get('content-security-policy')).toBe(CONTENT_SECURITY_POLICY);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
    }
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect((await fetch(`${server.baseUrl}/nope`)).status).toBe(404);
    const post = await fetch(`${server.baseUrl}/api/tasks`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(405);
    expect(await post.json()).toEqual({ error: 'POST is not allowed: the dashboard is read-only' });
    const index = await fetch(`${server.baseUrl}/`);
    expect(index.status).toBe(200);
    expect(await index.text()).toContain('<script src="/app.js" defer></script>');
  });

  test('a loopback dashboard refuses other Host names (DNS rebinding)', async () => {
    const statusWithHost = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request(`${server.baseUrl}/api/overview`, { headers: { host } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await statusWithHost('attacker.example:8080')).toBe(421);
    expect(await statusWithHost('localhost:8080')).toBe(200);
    expect(await statusWithHost(server.dashboardAddress!)).toBe(200);
  });

  test('closing the app closes the dashboard, live streams included', async () => {
    const other = await startDashboardServer();
    const controller = new AbortController();
    const stream = await fetch(`${other.baseUrl}/api/events`, { signal: controller.signal });
    const reading = (async () => {
      const reader = stream.body!.getReader();
      for (;;) if ((await reader.read()).done) return 'ended';
    })();
    await other.close();
    await expect(reading).resolves.toBe('ended');
    await expect(fetch(`${other.baseUrl}/api/overview`)).rejects.toThrow();
    controller.abort();
  });
});

describe('dashboard off (the default)', () => {
  test('no dashboard server and no per-task lifecycle events', async () => {
    const server = await startTestServer({ metricsAddr: '127.0.0.1:0' });
    try {
      expect(server.dashboardAddress).toBeUndefined();
      expect(server.app.dashboard).toBeUndefined();
      // Metrics alone observe finished tasks only: the scheduler makes no accepted/started calls.
      expect(server.app.metrics!.observer.taskAccepted).toBeUndefined();
      expect(server.app.metrics!.observer.taskStarted).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});
