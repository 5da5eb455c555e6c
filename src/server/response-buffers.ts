import { Metadata, ServerInterceptingCall, status as GrpcStatus, type ServerInterceptingCallInterface, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from '../logging/logger';
import { RateLimitedLog } from '../logging/rate-limited-log';

/**
 * Bounds on responses a client has not read (issue 19 item 2: a client that never reads, zero window).
 * A response is "unread" from the moment it is handed to HTTP/2 until Node reports it written to the
 * socket, which flow control holds back while the client does not read. 0 = no bound.
 */
export interface ResponseBufferLimits {
  /** Unread response bytes one connection may hold (`--max-unread-bytes-per-connection`). */
  readonly maxUnreadBytesPerConnection: number;
  /** Unread response bytes all connections together may hold (`--max-unread-bytes`). */
  readonly maxUnreadBytes: number;
  /** A connection whose unread responses made no progress for this long is closed (`--write-timeout-ms`). */
  readonly writeTimeoutMs: number;
}

export const DEFAULT_RESPONSE_BUFFER_LIMITS: ResponseBufferLimits = Object.freeze({
  maxUnreadBytesPerConnection: 32 * 1024 * 1024,
  maxUnreadBytes: 256 * 1024 * 1024,
  writeTimeoutMs: 60_000,
});

interface ConnectionBuffer {
  bytes: number;
  writes: number;
  /** When a write last completed, or the first pending one began. */
  progressAt: number;
}

/** Methods whose response carries a stored result of any size from a request of a few bytes. */
const RESULT_METHODS = new Set(['/taskscheduler.TaskScheduler/GetResult', '/taskscheduler.TaskScheduler/WaitResult']);

/** A stored result at least this large is reserved when its request arrives, before it is read. */
const RESERVE_FROM_BYTES = 64 * 1024;

/** Size of a response as it will go on the wire, near enough: its `result` text (the rest is bytes). */
function sizeOf(message: unknown): number {
  const result = (message as { result?: unknown } | null)?.result;
  return typeof result === 'string' ? result.length + 16 : 16;
}

/**
 * Counts unread response bytes per connection for the methods that amplify (GetResult, WaitResult: a
 * few bytes in, up to `--max-message-bytes` out). Beyond a bound the call is answered RESOURCE_EXHAUSTED
 * instead (the status is a few header bytes, which HTTP/2 flow control does not hold); a connection
 * whose unread responses made no progress for `writeTimeoutMs` is closed through `closeConnection`,
 * which frees everything it held. A grpc-js server interceptor (public API since 1.10); other methods
 * pass through untouched (one Set lookup per call).
 */
export class ResponseBuffers {
  readonly #limits: ResponseBufferLimits;
  readonly #connections = new Map<string, ConnectionBuffer>();
  #total = 0;
  readonly #log: RateLimitedLog;
  readonly #sweep: NodeJS.Timeout | undefined;
  /** Closes the connection of `peer` (`address:port`); set once the port is guarded. */
  closeConnection: (peer: string) => boolean = () => false;

  readonly #recordBytes: (taskId: string) => number | undefined;

  /**
   * `recordBytes`: about the size of a task's stored result when the store can tell at once (else
   * undefined). A request for a large one is counted (or refused) as it arrives, before the handler
   * reads the record: reading a 3 MiB result costs ~13 ms of CPU, so 2,000 requests that would be
   * refused anyway cost the server half a minute if refused only when answered (abuse probe 2).
   */
  constructor(limits: ResponseBufferLimits, logger: Logger, recordBytes: (taskId: string) => number | undefined = () => undefined) {
    this.#limits = limits;
    this.#recordBytes = recordBytes;
    this.#log = new RateLimitedLog({ logger, level: 'warn', summary: 'slow readers' });
    if (limits.writeTimeoutMs > 0) {
      this.#sweep = setInterval(() => this.#closeStalled(), Math.min(1000, limits.writeTimeoutMs));
      this.#sweep.unref();
    }
  }

  /** Unread bytes in all (tests, metrics). */
  get unreadBytes(): number {
    return this.#total;
  }

  // Other methods pass through as they are (grpc-js only calls the interface's methods; its type asks
  // for the class, hence the cast).
  readonly interceptor: ServerInterceptor = (method, call) => (RESULT_METHODS.has(method.path) ? this.#track(call) : (call as ServerInterceptingCall));

  close(): void {
    if (this.#sweep) clearInterval(this.#sweep);
    this.#log.flush();
  }

  #track(call: ServerInterceptingCallInterface): ServerInterceptingCall {
    return new TrackedCall(call, this);
  }

  /** The bytes to reserve as a request arrives: its task's stored result when large and known at once. */
  reservable(request: unknown): number | undefined {
    const taskId = (request as { taskId?: unknown } | null)?.taskId;
    if (typeof taskId !== 'string') return undefined;
    const bytes = this.#recordBytes(taskId);
    return bytes !== undefined && bytes >= RESERVE_FROM_BYTES ? bytes : undefined;
  }

  /** Called by a tracked call before it hands `size` bytes to HTTP/2: a refusal, or the release function. */
  begin(peer: string, size: number): string | (() => void) {
    const refusal = this.#refusal(peer, size);
    if (refusal) {
      this.#log.report('unread', `response refused to ${peer}: ${refusal}`, { peer });
      return refusal;
    }
    const buffer = this.#connections.get(peer) ?? this.#add(peer);
    if (buffer.writes === 0) buffer.progressAt = Date.now();
    buffer.writes++;
    buffer.bytes += size;
    this.#total += size;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      buffer.writes--;
      buffer.bytes -= size;
      this.#total -= size;
      buffer.progressAt = Date.now();
      if (buffer.writes === 0 && this.#connections.get(peer) === buffer) this.#connections.delete(peer);
    };
  }

  #add(peer: string): ConnectionBuffer {
    const buffer: ConnectionBuffer = { bytes: 0, writes: 0, progressAt: Date.now() };
    this.#connections.set(peer, buffer);
    return buffer;
  }

  /** Why a response of `size` bytes to `peer` is refused, or undefined. */
  #refusal(peer: string, size: number): string | undefined {
    const { maxUnreadBytesPerConnection, maxUnreadBytes } = this.#limits;
    const onPeer = this.#connections.get(peer)?.bytes ?? 0;
    if (maxUnreadBytesPerConnection > 0 && onPeer > 0 && onPeer + size > maxUnreadBytesPerConnection) {
      return `this connection has ${onPeer} bytes of responses it has not read, the limit is ${maxUnreadBytesPerConnection} (--max-unread-bytes-per-connection)`;
    }
    if (maxUnreadBytes > 0 && this.#total > 0 && this.#total + size > maxUnreadBytes) {
      return `clients have ${this.#total} bytes of responses they have not read, the limit is ${maxUnreadBytes} (--max-unread-bytes)`;
    }
    return undefined;
  }

  #closeStalled(): void {
    const now = Date.now();
    const { writeTimeoutMs } = this.#limits;
    for (const [peer, buffer] of this.#connections) {
      if (buffer.writes > 0 && now - buffer.progressAt > writeTimeoutMs) {
        this.#log.report('stalled', `connection ${peer} closed: ${buffer.bytes} bytes of responses unread for ${writeTimeoutMs} ms (--write-timeout-ms)`, { peer, bytes: buffer.bytes });
        buffer.progressAt = now;
        this.closeConnection(peer);
      }
    }
  }
}

/**
 * A call whose response is counted until written: a large stored result is reserved when the request
 * arrives (refused then, before the handler reads it, when it would not fit); any other response asks
 * {@link ResponseBuffers.begin} at `sendMessage`. A response is released when its write calls back,
 * when the call is cancelled (stream reset or connection closed before it was written), or when the
 * call ends without one.
 */
class TrackedCall extends ServerInterceptingCall {
  readonly #buffers: ResponseBuffers;
  readonly #peer: string;
  #release: (() => void) | undefined;
  /** A response was handed to HTTP/2 (its release then waits for the write). */
  #sent = false;

  constructor(call: ServerInterceptingCallInterface, buffers: ResponseBuffers) {
    super(call, {
      start: (next) =>
        next({
          onCancel: () => this.#release?.(),
          onReceiveMessage: (message, pass) => {
            const size = buffers.reservable(message);
            if (size === undefined) return pass(message);
            const begun = buffers.begin(this.#peer, size);
            if (typeof begun === 'string') {
              // Not passed on: the handler never runs, and this status ends the call.
              this.#refuse(begun);
              return;
            }
            this.#release = begun;
            pass(message);
          },
        }),
    });
    this.#buffers = buffers;
    const info = call.getConnectionInfo();
    this.#peer = `${info.remoteAddress ?? '?'}:${info.remotePort ?? '?'}`;
  }

  override sendMessage(message: unknown, callback: () => void): void {
    const reserved = this.#release;
    const begun = reserved ?? this.#buffers.begin(this.#peer, sizeOf(message));
    if (typeof begun === 'string') {
      // The handler's OK status follows the callback, which is not called: this status ends the call.
      this.#refuse(begun);
      return;
    }
    this.#release = begun;
    this.#sent = true;
    super.sendMessage(message, () => {
      begun();
      callback();
    });
  }

  override sendStatus(status: Parameters<ServerInterceptingCall['sendStatus']>[0]): void {
    // Reserved for a response that never came (an error, a refusal): nothing is held.
    if (!this.#sent) this.#release?.();
    super.sendStatus(status);
  }

  #refuse(why: string): void {
    this.sendStatus({ code: GrpcStatus.RESOURCE_EXHAUSTED, details: `Too many unread responses: ${why}`, metadata: new Metadata() });
  }
}
