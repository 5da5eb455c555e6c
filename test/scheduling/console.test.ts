/** The scheduling console commands of the real CLI (`-c`), driven through stdin. (Needs `npm run build`.) */
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type TaskSchedulerConnection } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { killCli, PROMPT, startCli, type CliProcess } from '../helpers/cli';
import { waitFor } from '../lifecycle/lifecycle-helpers';
import { ms } from './scheduling-helpers';

jest.setTimeout(60_000);

let cli: CliProcess | undefined;
let connection: TaskSchedulerConnection;
beforeAll(async () => {
  cli = await startCli(['-a', '127.0.0.1:0', '-c', '--log-dir', '', '--worker-threads', '0', '-l', '']);
  await cli.waitFor(new RegExp(`type 'help' for commands\\.\\n${PROMPT}`));
  connection = createTaskSchedulerClient(cli.address);
});
afterAll(async () => {
  connection?.close();
  await killCli(cli);
});

test('schedule / schedules / unschedule: a per-second schedule made in the console fires', async () => {
  expect(await cli!.command(`schedule tick '* * * * * *' echo '["hi"]' tz=Europe/Berlin missed=run_once`)).toMatch(/schedule tick: next fire \d{4}-\d\d-\d\dT/);
  expect(await cli!.command('schedules')).toMatch(/tick {2}'\* \* \* \* \* \*' Europe\/Berlin {2}echo {2}next \d{4}-/);
  let fired = '';
  await waitFor('a fire', async () => {
    const page = await connection.client.listSubmittedTasks({ taskIdPrefix: 'tick@' });
    fired = page.tasks[0]?.result ?? '';
    return fired !== '';
  });
  expect(fired).toBe('[{"string":"hi"}]'); // echo answers its arguments
  expect(await cli!.command('unschedule tick')).toContain('deleted tick');
  expect(await cli!.command('schedules')).toContain('(no schedules)');
  expect(await cli!.command("schedule bad 'every day' echo")).toMatch(/error: Invalid arguments: cron 'every day' is not a valid cron expression/);
  expect(await cli!.command("schedule bad '* * * * *' echo tz=Nowhere/City")).toMatch(/error: Invalid arguments: time_zone 'Nowhere\/City' is not a known IANA time zone/);
});

test('pause / queue / resume', async () => {
  expect(await cli!.command('pause echo')).toContain('paused: echo');
  const submitted = await connection.client.submitTask({ taskId: 'held', method: 'echo', args: [toAny('x')], detached: true });
  expect(submitted.status).toBe(TaskResponse_Status.PENDING);
  expect(await cli!.command('queue')).toMatch(/echo: 1 waiting, 0 running \(paused\)/);
  expect(await cli!.command('resume echo')).toContain('paused: (none)');
  expect((await connection.client.waitResult({ taskId: 'held', timeoutMs: ms(5_000) })).status).toBe(TaskResponse_Status.SUCCESS);
  expect(await cli!.command('pause no_such')).toContain('error: Method not found: no_such');
});
