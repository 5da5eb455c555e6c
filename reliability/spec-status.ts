/**
 * Which gRPC replies are acceptable: SPEC §4's table (code + message prefix), the transport-level
 * answers grpc-js gives to broken framing, and nothing else. `INTERNAL "Internal error"` is a server
 * bug by definition (SPEC §4) and always a violation.
 */

/** SPEC §4: the message prefixes each code may carry. */
export const SPEC_STATUSES: ReadonlyMap<number, readonly string[]> = new Map([
  [5, ['Method not found: ']],
  [3, ['Invalid arguments: ']],
  [9, ['Missing dependency: ', 'Dependency failed: ']],
  [4, ['Timed out: ']],
  [1, ['Task cancelled: ']],
  [13, ['Task execution failed: ']],
  [6, ['Task already exists: ']],
  [8, ['Too many tasks: ']],
  [14, ['Shutting down']],
]);

/** Answers of grpc-js itself to requests that never reach the service (framing, size, deadline, path). */
const TRANSPORT_STATUSES: ReadonlyArray<readonly [number, RegExp]> = [
  [8, /^Received message (larger than max|that decompresses to a size larger than)/],
  [13, /^(Error deserializing request|Failed to decompress message|Received a message with an? (unknown|unsupported|invalid)|Received compressed message but "grpc-encoding" header was|Request message serialization failure|Unexpected end|Received invalid|Too many messages)|compress/i],
  [12, /^(The server does not implement the method|Unknown method|Method not found|Received no request message for|Received a second request message for|Received message compressed with unsupported encoding)/],
  [13, /^Invalid grpc-timeout value/],
  [4, /^Deadline exceeded/],
  [1, /^(Cancelled|Call cancelled|cancelled)/i],
];

/** How one reply classifies: `ok`, `spec` (a §4 error), `transport` (grpc-js), `http` (non-gRPC HTTP answer), `reset`, or a violation. */
export type ReplyClass = 'ok' | 'spec' | 'transport' | 'http' | 'reset' | 'violation';

export function classifyStatus(code: number, message: string): ReplyClass {
  if (code === 0) return 'ok';
  if (code === 13 && message.startsWith('Internal error')) return 'violation';
  const prefixes = SPEC_STATUSES.get(code);
  if (prefixes?.some((prefix) => message.startsWith(prefix))) return 'spec';
  if (TRANSPORT_STATUSES.some(([c, pattern]) => c === code && pattern.test(message))) return 'transport';
  return 'violation';
}

/** Status code names for reports. */
export const STATUS_NAMES = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];
