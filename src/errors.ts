/**
 * The error classes of Task Scheduler. Each carries the gRPC status code it maps to, so that the server
 * turns them into statuses in one place (`server/map-errors.ts`) while the engine and the tasks stay
 * free of any gRPC import.
 */

/** gRPC status codes (numbers fixed by the gRPC protocol), without depending on a gRPC library here. */
export enum StatusCode {
  OK = 0,
  CANCELLED = 1,
  UNKNOWN = 2,
  INVALID_ARGUMENT = 3,
  DEADLINE_EXCEEDED = 4,
  NOT_FOUND = 5,
  ALREADY_EXISTS = 6,
  PERMISSION_DENIED = 7,
  RESOURCE_EXHAUSTED = 8,
  FAILED_PRECONDITION = 9,
  ABORTED = 10,
  OUT_OF_RANGE = 11,
  UNIMPLEMENTED = 12,
  INTERNAL = 13,
  UNAVAILABLE = 14,
  DATA_LOSS = 15,
  UNAUTHENTICATED = 16,
}

/** Longest piece of a client-supplied value quoted in a message (SPEC §4: status messages stay small). */
export const MAX_QUOTED_CHARS = 100;

/**
 * Quotes a client-supplied value for an error or log message: at most {@link MAX_QUOTED_CHARS} characters
 * (then `…`), control characters escaped so a value cannot forge log lines or break a status message.
 */
export function clip(value: string, max = MAX_QUOTED_CHARS): string {
  const cut = value.length > max ? `${value.slice(0, max)}…` : value;
  // eslint-disable-next-line no-control-regex
  return cut.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Base class of every error Task Scheduler reports to clients. `message` is the full client-visible
 * text (`prefix` + `detail`, SPEC §4); `detail` is the part after the prefix, which is what a failed
 * task's stored result shows.
 */
export abstract class TaskSchedulerError extends Error {
  abstract readonly code: StatusCode;

  constructor(
    readonly prefix: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(prefix + detail, options);
    this.name = new.target.name;
  }
}

/**
 * Thrown by a task that rejects its arguments, and by the server for bad requests.
 * Answered as INVALID_ARGUMENT `Invalid arguments: <message>`.
 *
 * @example
 * if (args[0]?.kind !== 'int32') throw new InvalidArgumentsError('args[0] must be an int32');
 */
export class InvalidArgumentsError extends TaskSchedulerError {
  readonly code = StatusCode.INVALID_ARGUMENT;
  constructor(message: string, options?: { cause?: unknown }) {
    super('Invalid arguments: ', message, options);
  }
}

/** The requested method is not registered: NOT_FOUND `Method not found: <method>`. */
export class MethodNotFoundError extends TaskSchedulerError {
  readonly code = StatusCode.NOT_FOUND;
  constructor(method: string) {
    super('Method not found: ', clip(method));
  }
}

/** A dependency was never submitted or has been evicted: FAILED_PRECONDITION `Missing dependency: <id>`. */
export class MissingDependencyError extends TaskSchedulerError {
  readonly code = StatusCode.FAILED_PRECONDITION;
  constructor(readonly dependencyId: string) {
    super('Missing dependency: ', clip(dependencyId));
  }
}

/** A dependency failed or was cancelled: FAILED_PRECONDITION `Dependency failed: <id>`. */
export class DependencyFailedError extends TaskSchedulerError {
  readonly code = StatusCode.FAILED_PRECONDITION;
  constructor(readonly dependencyId: string) {
    super('Dependency failed: ', clip(dependencyId));
  }
}

/** A dependency wait or the task itself ran out of time: DEADLINE_EXCEEDED `Timed out: …`. */
export class TaskTimeoutError extends TaskSchedulerError {
  readonly code = StatusCode.DEADLINE_EXCEEDED;
  constructor(detail: string) {
    super('Timed out: ', detail);
  }
}

/** The task was cancelled: CANCELLED `Task cancelled: <id>`. */
export class TaskCancelledError extends TaskSchedulerError {
  readonly code = StatusCode.CANCELLED;
  constructor(taskId: string) {
    super('Task cancelled: ', clip(taskId));
  }
}

/** The task threw or rejected: INTERNAL `Task execution failed: <message>`. */
export class TaskExecutionError extends TaskSchedulerError {
  readonly code = StatusCode.INTERNAL;
  constructor(message: string, options?: { cause?: unknown }) {
    super('Task execution failed: ', message, options);
  }
}

/**
 * Thrown by a task whose failure no retry can mend (bad input data, a missing record, a refused
 * payment): the task fails at once, whatever attempts its retry policy has left — like BullMQ's
 * UnrecoverableError. Answered as INTERNAL `Task execution failed: <message>`, as any other throw.
 *
 * @example
 * if (!exists(path)) throw new PermanentError(`no such file: ${path}`);
 */
export class PermanentError extends TaskExecutionError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The task id is taken by a different request: ALREADY_EXISTS `Task already exists: <id>`. */
export class TaskAlreadyExistsError extends TaskSchedulerError {
  readonly code = StatusCode.ALREADY_EXISTS;
  constructor(taskId: string, why: string) {
    super('Task already exists: ', `${clip(taskId)} (${why})`);
  }
}

/** Too many tasks waiting: RESOURCE_EXHAUSTED `Too many tasks: …`. */
export class TooManyTasksError extends TaskSchedulerError {
  readonly code = StatusCode.RESOURCE_EXHAUSTED;
  constructor(detail: string) {
    super('Too many tasks: ', detail);
  }
}

/** Too many calls of one kind held open (parked long-polls): RESOURCE_EXHAUSTED `Too many calls: …`. */
export class TooManyCallsError extends TaskSchedulerError {
  readonly code = StatusCode.RESOURCE_EXHAUSTED;
  constructor(detail: string) {
    super('Too many calls: ', detail);
  }
}

/** The server is shutting down: UNAVAILABLE `Shutting down`. */
export class ShuttingDownError extends TaskSchedulerError {
  readonly code = StatusCode.UNAVAILABLE;
  /** `detail` follows the prefix as is, e.g. `: task 'x' was cancelled before it finished`. */
  constructor(detail = '') {
    super('Shutting down', detail);
  }
}

/**
 * The shared result store (Redis) cannot be reached or did not answer in time: UNAVAILABLE
 * `Result store unavailable: …`. Safe to retry once the store is back.
 */
export class StoreUnavailableError extends TaskSchedulerError {
  readonly code = StatusCode.UNAVAILABLE;
  constructor(detail: string, options?: { cause?: unknown }) {
    super('Result store unavailable: ', detail, options);
  }
}

/** Describes any thrown value in words, for messages (tasks may throw non-Errors). */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message || thrown.name;
  // An Error from another realm (a vm context, jest's sandbox) fails instanceof but is still an error.
  if (typeof thrown === 'object' && thrown !== null && typeof (thrown as { message?: unknown }).message === 'string') {
    const { message, name } = thrown as { message: string; name?: unknown };
    return message || (typeof name === 'string' ? name : 'error');
  }
  if (typeof thrown === 'string') return thrown;
  if (thrown === undefined) return 'task threw undefined';
  if (thrown === null) return 'task threw null';
  try {
    return `task threw ${typeof thrown}: ${clip(String(thrown))}`;
  } catch {
    return `task threw a ${typeof thrown}`;
  }
}

/**
 * A recorded failure answered again: a blocking resubmit of a failed task replays the status it
 * first answered with (SPEC §5c), from the record's `failure`.
 */
export class RecordedFailureError extends TaskSchedulerError {
  constructor(
    readonly code: StatusCode,
    message: string,
  ) {
    super('', message);
  }
}
