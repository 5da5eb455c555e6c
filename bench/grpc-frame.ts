/**
 * Request bodies for h2load. h2load speaks plain HTTP/2, so the body file must already be what a gRPC
 * client puts on the wire: the length-prefixed message framing of the gRPC-over-HTTP/2 protocol.
 */
import { writeFileSync } from 'node:fs';
import { TaskRequest, TaskSchedulerDefinition } from '../generated/taskscheduler/task_scheduler';

/** The HTTP/2 `:path` of a TaskScheduler method: `/<package>.<Service>/<Method>`, from the generated definition. */
export function methodPath(method: keyof typeof TaskSchedulerDefinition.methods): string {
  return `/${TaskSchedulerDefinition.fullName}/${TaskSchedulerDefinition.methods[method].name}`;
}

/** The path h2load posts to. */
export const SUBMIT_TASK_PATH = methodPath('submitTask');
/** WaitResult, for the lean client (bench/lean-grpc-client.ts). */
export const WAIT_RESULT_PATH = methodPath('waitResult');

/** One gRPC message frame: compressed flag 0, 4-byte big-endian length, then the protobuf bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt8(0, 0);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

/**
 * Writes the framed TaskRequest to `file` for `h2load -d` and returns the protobuf size (without the
 * 5-byte frame header), which the report quotes.
 */
export function writeTaskRequestFrame(file: string, request: Parameters<typeof TaskRequest.fromPartial>[0]): number {
  const message = TaskRequest.encode(TaskRequest.fromPartial(request)).finish();
  writeFileSync(file, grpcFrame(message));
  return message.length;
}
