/** Small helpers shared by the built-in task tests: submit, expect success or a gRPC error, time it. */
import { performance } from 'node:perf_hooks';
import type { Any } from '../../generated/google/protobuf/any';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny, type JsArg } from '../../src/args/encode-arg';
import { expectGrpcError, Status, type ClientError, type TestServer } from '../helpers/start-server';

export { TaskResponse_Status, Status };

/** Packs each value with `toAny` (ArgValues built with `arg.*` pass through with their kind). */
export function anys(...values: JsArg[]): Any[] {
  return values.map(toAny);
}

export interface BuiltinRunner {
  /** Submits (blocking) with a fresh task id; expects `{taskId, SUCCESS, result}` and returns the result. */
  ok(method: string, args?: Any[]): Promise<string>;
  /** Like {@link ok}, also returning how long the call took (ms). */
  timed(method: string, args?: Any[]): Promise<{ result: string; elapsedMs: number }>;
  /** Submits with a fresh task id and expects a gRPC error with `code`; returns the error and the id. */
  error(method: string, args: Any[], code: Status): Promise<{ err: ClientError; taskId: string }>;
  /** Expects INVALID_ARGUMENT and returns the status message. */
  invalid(method: string, args?: Any[]): Promise<string>;
}

/** A runner whose task ids are `<prefix>-<n>` (unique within one server). */
export function builtinRunner(getServer: () => TestServer, prefix: string): BuiltinRunner {
  let counter = 0;
  const nextId = (): string => `${prefix}-${++counter}`;

  async function ok(method: string, args: Any[] = []): Promise<string> {
    const taskId = nextId();
    const res = await getServer().client.submitTask({ taskId, method, args });
    expect(res).toEqual({ taskId, status: TaskResponse_Status.SUCCESS, result: expect.any(String), attempts: 1 });
    return res.result;
  }

  async function error(method: string, args: Any[], code: Status): Promise<{ err: ClientError; taskId: string }> {
    const taskId = nextId();
    const err = await expectGrpcError(getServer().client.submitTask({ taskId, method, args }));
    expect({ code: Status[err.code], details: err.details }).toEqual({ code: Status[code], details: expect.any(String) });
    return { err, taskId };
  }

  return {
    ok,
    async timed(method, args = []) {
      const start = performance.now();
      const result = await ok(method, args);
      return { result, elapsedMs: performance.now() - start };
    },
    error,
    async invalid(method, args = []) {
      return (await error(method, args, Status.INVALID_ARGUMENT)).err.details;
    },
  };
}
