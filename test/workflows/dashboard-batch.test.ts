/** The dashboard shows a batch's tasks together, from any of its tasks (issue 16 item 6). */
import { toAny } from '../../src/args/encode-arg';
import { submitTasks, watchTasks } from '../../src/client/workflows';
import type { TaskDetail } from '../../src/dashboard/dashboard-api';
import { getJson, startDashboardServer, type DashboardTestServer } from '../dashboard/dashboard-helpers';

let server: DashboardTestServer;
beforeAll(async () => {
  server = await startDashboardServer();
});
afterAll(() => server.close());

test("a task's detail lists the tasks accepted in its batch; a task submitted alone lists none", async () => {
  await submitTasks(server.client, [
    { taskId: 'db-sum', method: 'concat', args: [], deps: ['db-a', 'db-b'], injectDependencyResults: true },
    { taskId: 'db-a', method: 'add', args: [toAny(1), toAny(2)] },
    { taskId: 'db-b', method: 'add', args: [toAny(3), toAny(4)] },
    { taskId: 'db-lone', method: 'ping' },
  ]);
  for await (const event of watchTasks(server.client, ['db-sum', 'db-lone'])) void event;
  for (const taskId of ['db-a', 'db-lone']) {
    const { status, body } = await getJson<TaskDetail>(server.baseUrl, `/api/tasks/${taskId}`);
    expect(status).toBe(200);
    expect(body.batch).toEqual([
      { taskId: 'db-sum', method: 'concat', status: 'SUCCESS' },
      { taskId: 'db-a', method: 'add', status: 'SUCCESS' },
      { taskId: 'db-b', method: 'add', status: 'SUCCESS' },
      { taskId: 'db-lone', method: 'ping', status: 'SUCCESS' },
    ]);
  }
  await server.client.submitTask({ taskId: 'db-single', method: 'ping' });
  expect((await getJson<TaskDetail>(server.baseUrl, '/api/tasks/db-single')).body.batch).toEqual([]);
});
