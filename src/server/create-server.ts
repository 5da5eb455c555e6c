import { createServer, type Server } from 'nice-grpc';
import { TaskSchedulerDefinition } from '../../generated/taskscheduler/task_scheduler';
import type { DecodeLimits } from '../args/decode-arg';
import type { Scheduler } from '../engine/scheduler';
import type { Logger } from '../logging/logger';
import type { TaskRegistry } from '../tasks/task-registry';
import { errorMiddleware } from './error-middleware';
import { formatListenAddress, parseListenAddress } from './listen-address';
import { createTaskSchedulerService } from './task-scheduler-service';

/** What the gRPC server is built from. */
export interface ServerDeps {
  readonly scheduler: Scheduler;
  readonly registry: TaskRegistry;
  readonly logger: Logger;
  readonly decodeLimits: DecodeLimits;
  /** Largest request accepted, in bytes (default 4 MiB). */
  readonly maxMessageBytes?: number;
}

/** A built, not yet listening, gRPC server. */
export interface TaskSchedulerServer {
  /** Binds `host:port` (port 0 picks a free one) and resolves with the real address. */
  listen(address: string): Promise<string>;
  /** Stops accepting calls and waits for running ones up to `graceMs`, then cuts them. */
  close(graceMs?: number): Promise<void>;
  /** The underlying nice-grpc server, for adding services. */
  readonly raw: Server;
}

/** Builds the gRPC server (building and listening are separate, as in fastify's app/server split). */
export function createTaskSchedulerServer(deps: ServerDeps): TaskSchedulerServer {
  const maxMessageBytes = deps.maxMessageBytes ?? 4 * 1024 * 1024;
  const server = createServer({
    'grpc.max_receive_message_length': maxMessageBytes,
    'grpc.max_send_message_length': maxMessageBytes,
  }).use(errorMiddleware(deps.logger.child({ component: 'grpc' })));
  server.add(TaskSchedulerDefinition, createTaskSchedulerService(deps));

  return {
    raw: server,
    async listen(address: string): Promise<string> {
      const parsed = parseListenAddress(address);
      const port = await server.listen(formatListenAddress(parsed));
      return formatListenAddress({ host: parsed.host, port });
    },
    async close(graceMs = 5000): Promise<void> {
      const timer = setTimeout(() => server.forceShutdown(), graceMs);
      timer.unref();
      try {
        await server.shutdown();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
