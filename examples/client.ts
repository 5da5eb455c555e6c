// Calls a running server with the typed client: `npx tsx examples/client.ts 127.0.0.1:50051`
import { arg, ClientError, createTaskSchedulerClient, encodeArg, Status, TaskResponse_Status, toAny } from 'task-scheduler';

async function main(address: string): Promise<void> {
  const { client, close } = createTaskSchedulerClient(address);
  try {
    const sum = await client.submitTask({ method: 'add', args: [toAny(1), toAny(2), encodeArg(arg.int64('9007199254740993'))] });
    console.log(sum.result, TaskResponse_Status[sum.status]);            // 9007199254740996 SUCCESS
    const job = await client.submitTask({ method: 'sleep', args: [toAny(200)], detached: true });
    const done = await client.waitResult({ taskId: job.taskId, timeoutMs: 10_000 });
    console.log(TaskResponse_Status[done.status], done.result);          // SUCCESS slept 200 ms
    try {
      await client.submitTask({ method: 'no_such_task' });
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      console.log(Status[err.code], err.details);                        // NOT_FOUND Method not found: no_such_task
    }
  } finally {
    close();
  }
}

main(process.argv[2] ?? '127.0.0.1:50051').catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
