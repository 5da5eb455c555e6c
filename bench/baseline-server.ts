/**
 * The baseline: a bare @grpc/grpc-js server answering `/taskscheduler.TaskScheduler/SubmitTask` for
 * `add` — no framework, no middleware, no scheduler, no result store. It does the least any
 * implementation of this RPC must do (decode the request and its Int32Value args, sum, encode the
 * reply), so ours/baseline shows what everything else costs.
 *
 * Usage: node dist/bench/baseline-server.js <grpc host:port> <count host:port>
 * Prints `baseline listening on <grpc> count http://<count>/count` when ready. The count endpoint answers
 * `{"ok":n,"errors":m}` — the handler's own tally, since h2load cannot see grpc-status.
 */
import { createServer } from 'node:http';
import { Server, ServerCredentials, status, type ServiceDefinition, type handleUnaryCall } from '@grpc/grpc-js';
import { Int32Value } from '../generated/google/protobuf/wrappers';
import { TaskRequest, TaskResponse, TaskResponse_Status } from '../generated/taskscheduler/task_scheduler';

const INT32_VALUE = 'google.protobuf.Int32Value';

/** Hand-written service definition: one unary method, serialized with the generated ts-proto codecs. */
const baselineService: ServiceDefinition<{ SubmitTask: handleUnaryCall<TaskRequest, TaskResponse> }> = {
  SubmitTask: {
    path: '/taskscheduler.TaskScheduler/SubmitTask',
    requestStream: false,
    responseStream: false,
    requestSerialize: (request: TaskRequest) => Buffer.from(TaskRequest.encode(request).finish()),
    requestDeserialize: (bytes: Buffer) => TaskRequest.decode(bytes),
    responseSerialize: (response: TaskResponse) => Buffer.from(TaskResponse.encode(response).finish()),
    responseDeserialize: (bytes: Buffer) => TaskResponse.decode(bytes),
  },
};

let ok = 0;
let errors = 0;

const submitTask: handleUnaryCall<TaskRequest, TaskResponse> = (call, callback) => {
  const request = call.request;
  if (request.method !== 'add') {
    errors++;
    callback({ code: status.NOT_FOUND, details: `Method not found: ${request.method.slice(0, 100)} (the baseline serves add only)` });
    return;
  }
  let sum = 0;
  for (const arg of request.args) {
    // The type URL is matched after its last '/', as the real server does.
    if (arg.typeUrl.slice(arg.typeUrl.lastIndexOf('/') + 1) !== INT32_VALUE) {
      errors++;
      callback({ code: status.INVALID_ARGUMENT, details: 'Invalid arguments: the baseline adds Int32Value args only' });
      return;
    }
    sum += Int32Value.decode(arg.value).value;
  }
  ok++;
  // attempts: 1, as our server answers a task that ran once (same response bytes to compare).
  callback(null, { taskId: request.taskId, status: TaskResponse_Status.SUCCESS, result: String(sum), attempts: 1 });
};

function hostPort(text: string | undefined): { host: string; port: number } {
  const match = text?.match(/^(127\.0\.0\.1):(\d+)$/);
  if (!match) throw new Error(`expected 127.0.0.1:<port>, got ${JSON.stringify(text)} (the baseline binds loopback only)`);
  return { host: match[1]!, port: Number(match[2]) };
}

function main(): void {
  const grpcAddress = hostPort(process.argv[2]);
  const countAddress = hostPort(process.argv[3]);
  const server = new Server();
  server.addService(baselineService, { SubmitTask: submitTask });
  const counter = createServer((req, res) => {
    if (req.url !== '/count') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, errors }));
  });
  server.bindAsync(`${grpcAddress.host}:${grpcAddress.port}`, ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`baseline: cannot listen on ${grpcAddress.host}:${grpcAddress.port}: ${error.message}\n`);
      process.exit(1);
    }
    counter.listen(countAddress.port, countAddress.host, () => {
      process.stdout.write(`baseline listening on ${grpcAddress.host}:${port} count http://${countAddress.host}:${countAddress.port}/count\n`);
    });
  });
  const stop = () => {
    counter.close();
    server.tryShutdown(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
