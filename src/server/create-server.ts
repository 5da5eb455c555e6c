import { createServer, type Server } from 'nice-grpc';
import { HealthDefinition, HealthServiceImpl, type HealthState } from 'nice-grpc-server-health';
import { TaskSchedulerDefinition } from '../../generated/taskscheduler/task_scheduler';
import type { DecodeLimits } from '../args/decode-arg';
import type { Scheduler } from '../engine/scheduler';
import type { Logger } from '../logging/logger';
import { throttledLogger } from '../logging/throttled-logger';
import type { TaskRegistry } from '../tasks/task-registry';
import { authMiddleware } from './auth-middleware';
import { mapErrors, type CallListener } from './map-errors';
import { formatListenAddress, parseListenAddress } from './listen-address';
import { addReflection } from './reflection';
import type { RequestLimits } from './request-limits';
import type { WaitLimits } from './parked-waits';
import { DEFAULT_CONNECTION_LIMITS, grpcConnectionOptions, type ConnectionLimits } from './connection-limits';
import { DEFAULT_RESPONSE_BUFFER_LIMITS, ResponseBuffers, type ResponseBufferLimits } from './response-buffers';
import { TaskSchedulerServiceDefinition } from './result-responses';
import { createTaskSchedulerService } from './task-scheduler-service';
import type { AdminService } from './admin-service';
import { TaskSchedulerAdminDefinition } from '../../generated/taskscheduler/task_scheduler_admin';
import { FastTaskRequest } from './task-request-codec';
import { serverCredentials, type TlsFiles } from './tls';
import { callTrace, traceCalls } from '../tracing/trace-calls';

/** What the gRPC server is built from. */
export interface ServerDeps {
  readonly scheduler: Scheduler;
  readonly registry: TaskRegistry;
  readonly logger: Logger;
  readonly decodeLimits: DecodeLimits;
  /** Request-level limits (args, deps, task-id length). */
  readonly requestLimits?: RequestLimits;
  /** Caps on parked WaitResult calls. */
  readonly waitLimits?: WaitLimits;
  /** Streams, session memory, idle timeout and keepalive of each connection (grpc-js options). */
  readonly connectionLimits?: ConnectionLimits;
  /** Bounds on responses clients have not read (GetResult, WaitResult). */
  readonly responseBufferLimits?: ResponseBufferLimits;
  /** Serving status reported by grpc.health.v1.Health. */
  readonly health: HealthState;
  /** Largest request accepted, in bytes (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /** Most tasks in one SubmitTasks (`--max-batch-tasks`). */
  readonly maxBatchTasks?: number;
  /** TLS (or mTLS with a CA); plaintext when absent. */
  readonly tls?: TlsFiles;
  /** Bearer tokens; empty or absent: no authentication. */
  readonly authTokens?: readonly string[];
  /** Told about every TaskScheduler call's outcome (metrics). */
  readonly onCall?: CallListener;
  /** OpenTelemetry tracing is on: server spans per call, and submissions keep the caller's context. */
  readonly tracing?: boolean;
  /** TaskSchedulerAdmin (schedules, pause/resume, queue stats); served when present. */
  readonly admin?: AdminService;
}

/** A built, not yet listening, gRPC server. */
export interface TaskSchedulerServer {
  /** Binds `host:port` (port 0 picks a free one) and resolves with the real address. */
  listen(address: string): Promise<string>;
  /** Stops accepting calls and waits for running ones up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
  /** The underlying nice-grpc server. */
  readonly raw: Server;
  /** Unread-response accounting; `closeConnection` is wired to the connection guard once listening. */
  readonly responseBuffers: ResponseBuffers;
}

/** The implementation wrapped in server spans when tracing is on, as it is otherwise. */
function tracedIf<T extends object>(tracing: boolean, implementation: T): T {
  return tracing ? traceCalls(TaskSchedulerDefinition.fullName, implementation) : implementation;
}

/** Fully-qualified services this server exposes (and describes through reflection). */
export const SERVED_SERVICES = [TaskSchedulerDefinition.fullName, TaskSchedulerAdminDefinition.fullName, 'grpc.health.v1.Health'] as const;

/**
 * Builds the gRPC server: TaskScheduler, grpc.health.v1.Health, and server reflection (v1, v1alpha).
 * Building and listening are separate, as in fastify's app/server split. TLS material is read here,
 * so bad files fail at start-up.
 */
export function createTaskSchedulerServer(deps: ServerDeps): TaskSchedulerServer {
  const maxMessageBytes = deps.maxMessageBytes ?? 4 * 1024 * 1024;
  const credentials = serverCredentials(deps.tls);
  const responseBuffers = new ResponseBuffers(deps.responseBufferLimits ?? DEFAULT_RESPONSE_BUFFER_LIMITS, deps.logger.child({ component: 'grpc' }), (taskId) => deps.scheduler.recordBytes(taskId));
  const base = createServer({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
    // channelz (grpc-js's per-call debug tracking, ~3 KB of garbage and two closures per call) is not
    // exposed by this server, so it is switched off (bench scenario a).
    'grpc.enable_channelz': 0,
    ...grpcConnectionOptions(deps.connectionLimits ?? DEFAULT_CONNECTION_LIMITS),
    // grpc-js server interceptors (public since 1.10): only GetResult/WaitResult are wrapped.
    interceptors: [responseBuffers.interceptor],
  });
  // Authentication wraps everything (health excepted), so unauthenticated calls reach nothing. It is
  // the only middleware: errors are mapped inside the service (see mapErrors), off the middleware path.
  // Refused calls never reach mapErrors, so the middleware reports TaskScheduler's to the call listener.
  const onCall = deps.onCall;
  const servicePrefix = `/${TaskSchedulerDefinition.fullName}/`;
  const onRefused = onCall
    ? (path: string): void => {
        if (path.startsWith(servicePrefix)) onCall(path, 'UNAUTHENTICATED');
      }
    : undefined;
  const server = deps.authTokens && deps.authTokens.length > 0 ? base.use(authMiddleware(deps.authTokens, onRefused)) : base;
  server.add(
    // Result-carrying responses encoded directly (result-responses.ts), SubmitTask requests decoded directly.
    {
      ...TaskSchedulerServiceDefinition,
      methods: {
        ...TaskSchedulerServiceDefinition.methods,
        submitTask: { ...TaskSchedulerServiceDefinition.methods.submitTask, requestType: FastTaskRequest },
      },
    },
    tracedIf(deps.tracing ?? false, mapErrors(TaskSchedulerDefinition.fullName, createTaskSchedulerService({ ...deps, ...(deps.tracing ? { traceOfCall: callTrace } : {}) }), throttledLogger(deps.logger.child({ component: 'grpc' })), deps.onCall)),
  );
  if (deps.admin) server.add(TaskSchedulerAdminDefinition, mapErrors(TaskSchedulerAdminDefinition.fullName, deps.admin, deps.logger.child({ component: 'grpc' }), deps.onCall));
  server.add(HealthDefinition, HealthServiceImpl(deps.health));
  addReflection(server, deps.admin ? SERVED_SERVICES : SERVED_SERVICES.filter((name) => name !== TaskSchedulerAdminDefinition.fullName));

  return {
    raw: server,
    responseBuffers,
    async listen(address: string): Promise<string> {
      const parsed = parseListenAddress(address);
      const port = await server.listen(formatListenAddress(parsed), credentials);
      return formatListenAddress({ host: parsed.host, port });
    },
    async close(graceMs = 5000): Promise<void> {
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      timer.unref();
      try {
        await server.shutdown();
      } finally {
        clearTimeout(timer);
        responseBuffers.close();
      }
    },
  };
}
