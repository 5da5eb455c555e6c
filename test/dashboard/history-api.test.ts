/**
 * The dashboard's history over HTTP against a real server: paging beyond one page, the byte bound
 * (`--dashboard-history-bytes`), dependents of a task that left the history (found in the store), and
 * each attempt's error and time for a retried task.
 */
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import type { Overview, TaskDetail } from '../../src/dashboard/dashboard-api';
import type { TaskSummary } from '../../src/dashboard/task-history';
import { getJson, startDashboardServer } from './dashboard-helpers';

jest.setTimeout(60_000);

interface TaskList {
  readonly tasks: TaskSummary[];
  readonly matched: number;
  readonly next: number | null;
}

describe('dashboard history over HTTP', () => {
  test('the task list pages past its limit with a cursor (before=next) until the last page', async () => {
    const server = await startDashboardServer();
    try {
      for (let i = 0; i < 7; i++) await server.client.submitTask({ taskId: `page-${i}`, method: 'ping' });
      const seen: string[] = [];
      let path = '/api/tasks?limit=3';
      for (let page = 0; page < 5; page++) {
        const { status, body } = await getJson<TaskList>(server.baseUrl, path);
        expect(status).toBe(200);
        expect(body.matched).toBe(7);
        seen.push(...body.tasks.map((task) => task.taskId));
        if (body.next === null) break;
        path = `/api/tasks?limit=3&before=${body.next}`;
      }
      expect(seen).toEqual(['page-6', 'page-5', 'page-4', 'page-3', 'page-2', 'page-1', 'page-0']);
      const bad = await getJson<{ error: string }>(server.baseUrl, '/api/tasks?before=-1');
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('before must be a whole number ≥ 0 (a page\'s "next"), got "-1"');
    } finally {
      await server.close();
    }
  });

  test('--dashboard-history-bytes bounds the history by heap bytes: tasks with many long deps evict the oldest', async () => {
    const maxBytes = 400_000;
    const server = await startDashboardServer({ dashboardHistoryBytes: maxBytes });
    try {
      // 60 roots, then 40 tasks naming all of them with 250-character ids: ~20 KB counted each.
      const roots = Array.from({ length: 60 }, (_, i) => `root-${i}-`.padEnd(250, 'r'));
      for (const id of roots) await server.client.submitTask({ taskId: id, method: 'ping', detached: true });
      for (let i = 0; i < 40; i++) await server.client.submitTask({ taskId: `fan-${i}`, method: 'ping', deps: roots, detached: true });
      const overview = await getJson<Overview>(server.baseUrl, '/api/overview');
      expect(overview.body.history.maxBytes).toBe(maxBytes);
      expect(overview.body.history.bytes).toBeLessThanOrEqual(maxBytes);
      expect(overview.body.history.bytes).toBeGreaterThan(maxBytes / 2);
      // Fewer than the 100 accepted (the count bound, 10 000, is not what stopped it); the newest stay.
      expect(overview.body.history.size).toBeLessThan(30);
      expect(overview.body.totals.accepted).toBe(100);
      const list = await getJson<TaskList>(server.baseUrl, '/api/tasks?limit=1');
      expect(list.body.tasks[0]!.taskId).toBe('fan-39');
    } finally {
      await server.close();
    }
  });

  test('a task that left the history still lists its dependents (from the store)', async () => {
    const server = await startDashboardServer({ dashboardHistory: 3 });
    try {
      await server.client.submitTask({ taskId: 'parent', method: 'ping' });
      await server.client.submitTask({ taskId: 'child-a', method: 'ping', deps: ['parent'] });
      await server.client.submitTask({ taskId: 'child-b', method: 'ping', deps: ['parent'] });
      for (let i = 0; i < 5; i++) await server.client.submitTask({ taskId: `filler-${i}`, method: 'ping' });
      const { status, body } = await getJson<TaskDetail>(server.baseUrl, '/api/tasks/parent');
      expect(status).toBe(200);
      expect(body.task.inHistory).toBe(false);
      expect(body.dependentsFrom).toBe('store');
      expect(body.dependents.map((link) => link.taskId).sort()).toEqual(['child-a', 'child-b']);
      expect(body.dependents.every((link) => link.status === 'SUCCESS' && link.method === 'ping')).toBe(true);
      // A task still in the history answers from its own list.
      const child = await getJson<TaskDetail>(server.baseUrl, '/api/tasks/filler-4');
      expect(child.body.dependentsFrom).toBe('history');
    } finally {
      await server.close();
    }
  });

  test("a retried task's detail shows each attempt's error and time", async () => {
    const server = await startDashboardServer();
    try {
      const started = Date.now();
      await server.client
        .submitTask({
          taskId: 'flaky',
          method: 'fail',
          args: [toAny('disk on fire')],
          retryPolicy: { maxAttempts: 3, initialBackoffMs: Long.fromNumber(20, true), maxBackoffMs: Long.fromNumber(40, true), backoffMultiplier: 2 },
        })
        .catch(() => undefined);
      const { body } = await getJson<TaskDetail>(server.baseUrl, '/api/tasks/flaky');
      expect(body.task.status).toBe('FAILED');
      expect(body.task.attempts).toBe(3);
      expect(body.task.attemptErrors.map((entry) => entry.attempt)).toEqual([1, 2, 3]);
      for (const entry of body.task.attemptErrors) {
        expect(entry.error).toContain('disk on fire');
        expect(entry.code).toBe('INTERNAL');
        expect(entry.at).toBeGreaterThanOrEqual(started);
        expect(entry.at).toBeLessThanOrEqual(Date.now());
      }
      const times = body.task.attemptErrors.map((entry) => entry.at);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
      const list = await getJson<TaskList>(server.baseUrl, '/api/tasks?q=flaky');
      expect(list.body.tasks[0]!.attempts).toBe(3);
    } finally {
      await server.close();
    }
  });
});
