import { ServerError, Status, type ServerMiddleware } from 'nice-grpc';
import { TaskSchedulerError } from '../errors';
import type { Logger } from '../logging/logger';

/** Longest gRPC status message sent (SPEC §5c: ~1 KB); the full text stays in the stored result. */
export const MAX_STATUS_MESSAGE_CHARS = 1024;

/** Cuts a status message to {@link MAX_STATUS_MESSAGE_CHARS}. */
export function capStatusMessage(message: string): string {
  return message.length > MAX_STATUS_MESSAGE_CHARS ? `${message.slice(0, MAX_STATUS_MESSAGE_CHARS - 1)}…` : message;
}

/**
 * The one place where errors become gRPC statuses: domain errors carry their code and message; anything
 * else is a server bug, answered INTERNAL `Internal error` with the detail logged once.
 */
export function errorMiddleware(logger: Logger): ServerMiddleware {
  return async function* mapErrors(call, context) {
    try {
      return yield* call.next(call.request, context);
    } catch (err) {
      if (err instanceof ServerError || (err instanceof Error && err.name === 'AbortError')) throw err;
      if (err instanceof TaskSchedulerError) {
        throw new ServerError(err.code as number as Status, capStatusMessage(err.message));
      }
      logger.error('internal error', { rpc: call.method.path, err });
      throw new ServerError(Status.INTERNAL, 'Internal error');
    }
  };
}
