import { ServerError, Status } from 'nice-grpc';
import { TaskSchedulerError } from '../errors';
import type { Logger } from '../logging/logger';

/** Longest gRPC status message sent (SPEC §5c: ~1 KB); the full text stays in the stored result. */
export const MAX_STATUS_MESSAGE_CHARS = 1024;

/** Cuts a status message to {@link MAX_STATUS_MESSAGE_CHARS}. */
export function capStatusMessage(message: string): string {
  return message.length > MAX_STATUS_MESSAGE_CHARS ? `${message.slice(0, MAX_STATUS_MESSAGE_CHARS - 1)}…` : message;
}

/** Told about every call's outcome (metrics): the RPC path and the status name (`OK`, `NOT_FOUND`…). */
export type CallListener = (rpc: string, code: string) => void;

/**
 * The one place where errors become gRPC statuses: domain errors carry their code and message; anything
 * else is a server bug, answered INTERNAL `Internal error` with the detail logged once.
 */
export function toServerError(err: unknown, rpc: string, logger: Logger): Error {
  if (err instanceof ServerError || (err instanceof Error && err.name === 'AbortError')) return err;
  if (err instanceof TaskSchedulerError) return new ServerError(err.code as number as Status, capStatusMessage(err.message));
  logger.error('internal error', { rpc, err });
  return new ServerError(Status.INTERNAL, 'Internal error');
}

type UnaryMethod = (request: never, context: never) => Promise<unknown>;

/**
 * Wraps each method of a unary service implementation with {@link toServerError} (and the optional
 * call listener). A plain try/catch per method rather than a nice-grpc middleware: middlewares are
 * async generators, which cost several microseconds per call on the hot path.
 */
export function mapErrors<T extends object>(servicePath: string, implementation: T, logger: Logger, onCall?: CallListener): T {
  const wrapped: Record<string, UnaryMethod> = {};
  for (const [name, method] of Object.entries(implementation as Record<string, UnaryMethod>)) {
    const rpc = `/${servicePath}/${name.charAt(0).toUpperCase()}${name.slice(1)}`;
    if (isStreaming(method)) {
      wrapped[name] = streamingWithErrors(method as unknown as StreamingMethod, implementation, rpc, logger, onCall) as unknown as UnaryMethod;
      continue;
    }
    const call = method.bind(implementation) as (request: unknown, context: unknown) => Promise<unknown>;
    wrapped[name] = onCall
      ? async (request: never, context: never) => {
          try {
            const response = await call(request, context);
            onCall(rpc, 'OK');
            return response;
          } catch (err) {
            const mapped = toServerError(err, rpc, logger);
            onCall(rpc, mapped instanceof ServerError ? Status[mapped.code] : 'CANCELLED');
            throw mapped;
          }
        }
      : async (request: never, context: never) => {
          try {
            return await call(request, context);
          } catch (err) {
            throw toServerError(err, rpc, logger);
          }
        };
  }
  return wrapped as unknown as T;
}

type StreamingMethod = (request: never, context: never) => AsyncIterable<unknown>;

/** Whether a service method is a server-streaming one (an async generator function). */
export function isStreaming(method: unknown): boolean {
  return typeof method === 'function' && method.constructor.name === 'AsyncGeneratorFunction';
}

/** {@link mapErrors} for a server-streaming method: errors thrown while streaming are mapped too. */
function streamingWithErrors(method: StreamingMethod, self: object, rpc: string, logger: Logger, onCall: CallListener | undefined): StreamingMethod {
  const call = method.bind(self);
  return async function* (request: never, context: never) {
    try {
      yield* call(request, context);
      onCall?.(rpc, 'OK');
    } catch (err) {
      const mapped = toServerError(err, rpc, logger);
      onCall?.(rpc, mapped instanceof ServerError ? Status[mapped.code] : 'CANCELLED');
      throw mapped;
    }
  };
}
