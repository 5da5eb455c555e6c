/**
 * Calling Task Scheduler from TypeScript with the typed client.
 *
 * Start a server (`npm start`), then, from the repository root:
 *
 * ```sh
 * npx tsc -p examples && node examples/dist/examples/client-example.js 127.0.0.1:50051
 * ```
 *
 * It prints:
 *
 * ```
 * add(1, 2, 9007199254740993) = 9007199254740996 (SUCCESS)
 * sleep(200) submitted detached: PENDING
 * sleep finished: SUCCESS, slept 200 ms
 * no_such_task failed: NOT_FOUND Method not found: no_such_task
 * ```
 */
import { ClientError, Status } from 'nice-grpc';
import { arg, createTaskSchedulerClient, encodeArg, toAny, TaskResponse_Status } from '../src';

/** Runs the example against the server at `address` (`host:port`); resolves with the lines it printed. */
export async function main(address = '127.0.0.1:50051'): Promise<string[]> {
  const lines: string[] = [];
  const print = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  // Plaintext here; pass { tls: { ca }, token } for a server started with TLS or --auth-token.
  const { client, close } = createTaskSchedulerClient(address);
  try {
    // A blocking submit answers when the task has finished. `toAny` packs plain JS values (1 and 2
    // become Int32Value); `encodeArg(arg.int64(...))` picks the kind, and a string keeps a 64-bit value
    // exact where a JS number could not. No task id: the server assigns one and returns it.
    const sum = await client.submitTask({
      method: 'add',
      args: [toAny(1), toAny(2), encodeArg(arg.int64('9007199254740993'))],
    });
    print(`add(1, 2, 9007199254740993) = ${sum.result} (${TaskResponse_Status[sum.status]})`);

    // A detached submit answers PENDING at once and the task runs in the background; WaitResult
    // long-polls until it has finished (or its timeout passes, answering the status it has then).
    const sleep = await client.submitTask({ method: 'sleep', args: [toAny(200)], detached: true });
    print(`sleep(200) submitted detached: ${TaskResponse_Status[sleep.status]}`);
    const done = await client.waitResult({ taskId: sleep.taskId, timeoutMs: 10_000 });
    print(`sleep finished: ${TaskResponse_Status[done.status]}, ${done.result}`);

    // Failures arrive as nice-grpc ClientErrors with a status code and a message.
    try {
      await client.submitTask({ method: 'no_such_task' });
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      print(`no_such_task failed: ${Status[err.code]} ${err.details}`);
    }
  } finally {
    close();
  }
  return lines;
}

if (require.main === module) {
  main(process.argv[2]).catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
