/**
 * A lean unary gRPC client on node:http2, for scenarios that cannot use h2load (each call carries a
 * different body, e.g. WaitResult on its own task id) but must not let the client eat the shared cores.
 * The nice-grpc client spends ~500 µs of CPU per submit + WaitResult pair here (call objects,
 * interceptors, metadata, deadline and status plumbing of @grpc/grpc-js); this one does what the
 * gRPC-over-HTTP/2 protocol asks of a unary call and nothing more:
 *
 * - one HTTP/2 stream per call: `:method POST`, `:path /<package>.<Service>/<Method>`,
 *   `content-type: application/grpc`, `te: trailers`; the request is one length-prefixed message;
 * - the answer is `:status 200`, one length-prefixed message, then trailers with `grpc-status` (or a
 *   trailers-only answer carrying `grpc-status` in the headers when the call failed);
 * - any other HTTP status, a non-zero `grpc-status`, a missing or compressed message, or a reset stream
 *   rejects the call with a {@link LeanCallError} saying what came back.
 *
 * Messages are encoded and decoded by the caller (the generated ts-proto codecs), so the protocol code
 * here stays independent of the service.
 */
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { grpcFrame } from './grpc-frame';

/** A unary call that did not answer OK with exactly one message. */
export class LeanCallError extends Error {
  override readonly name = 'LeanCallError';

  constructor(
    readonly path: string,
    /** The gRPC status code, or undefined when the failure was below gRPC (HTTP status, reset, framing). */
    readonly code: number | undefined,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

/** A connection to one gRPC server over plaintext HTTP/2 (h2c). */
export interface LeanGrpcClient {
  /**
   * Sends `message` (protobuf bytes, unframed) to `path` and resolves with the answer's protobuf bytes;
   * rejects with {@link LeanCallError} unless the call ended with grpc-status 0 and one message.
   */
  unary(path: string, message: Uint8Array): Promise<Buffer>;
  /** As {@link unary}, with the request already framed (see grpcFrame): for a body sent many times. */
  unaryFramed(path: string, frame: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

const { HTTP2_HEADER_STATUS, HTTP2_HEADER_CONTENT_TYPE } = constants;

/** Reads the single length-prefixed message of a unary answer out of its DATA chunks. */
function messageOf(path: string, chunks: Buffer[]): Buffer {
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  if (body.length < 5) throw new LeanCallError(path, undefined, `answer had ${body.length} body bytes, expected one length-prefixed message`);
  if (body[0] !== 0) throw new LeanCallError(path, undefined, `answer message is compressed (flag ${body[0]}), which this client never asked for`);
  const length = body.readUInt32BE(1);
  if (body.length !== 5 + length) {
    throw new LeanCallError(path, undefined, `answer body is ${body.length} bytes, expected one message of ${length} bytes plus its 5-byte prefix`);
  }
  return body.subarray(5);
}

/** grpc-message is percent-encoded on the wire. */
function grpcMessage(headers: IncomingHttpHeaders): string {
  const raw = headers['grpc-message'];
  if (typeof raw !== 'string' || raw === '') return '';
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** What grpc-status said, or a LeanCallError; undefined when `headers` carry no grpc-status. */
function statusOf(path: string, headers: IncomingHttpHeaders): 0 | LeanCallError | undefined {
  const status = headers['grpc-status'];
  if (status === undefined) return undefined;
  if (status === '0') return 0;
  const code = Number(status);
  return new LeanCallError(path, Number.isInteger(code) ? code : undefined, `grpc-status ${String(status)}${grpcMessage(headers) ? `: ${grpcMessage(headers)}` : ''}`);
}

/** Follows one call's stream to its end. */
function settleCall(path: string, stream: ClientHttp2Stream): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let outcome: 0 | LeanCallError | undefined;
    stream.on('response', (headers) => {
      const httpStatus = headers[HTTP2_HEADER_STATUS];
      if (Number(httpStatus) !== 200) { // a number at run time, typed as a header string
        outcome = new LeanCallError(path, undefined, `HTTP status ${String(httpStatus)}`);
      } else if (!String(headers[HTTP2_HEADER_CONTENT_TYPE]).startsWith('application/grpc')) {
        outcome = new LeanCallError(path, undefined, `content-type ${JSON.stringify(headers[HTTP2_HEADER_CONTENT_TYPE])}, expected application/grpc`);
      } else {
        outcome = statusOf(path, headers); // trailers-only answer (an error, as a rule)
      }
    });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('trailers', (trailers) => {
      outcome ??= statusOf(path, trailers);
    });
    stream.on('error', (error: Error) => {
      outcome ??= new LeanCallError(path, undefined, `stream failed: ${error.message}`);
    });
    stream.on('close', () => {
      if (outcome === undefined) {
        reject(new LeanCallError(path, undefined, `stream closed without grpc-status (RST code ${stream.rstCode ?? 'none'})`));
      } else if (outcome !== 0) {
        reject(outcome);
      } else {
        try {
          resolve(messageOf(path, chunks));
        } catch (error) {
          reject(error);
        }
      }
    });
    stream.resume();
  });
}

/**
 * Connects to `address` (`host:port`, plaintext) and resolves once the HTTP/2 session is up. Calls may
 * run concurrently; each is one stream of the one session (the server's concurrent-stream limit applies).
 */
export async function connectLeanClient(address: string): Promise<LeanGrpcClient> {
  const session: ClientHttp2Session = connect(`http://${address}`, { settings: { enablePush: false } });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => {
      session.off('error', reject);
      resolve();
    });
    session.once('error', reject);
  });
  // A session error after connecting fails the calls in flight (their streams close); keep it from
  // becoming an uncaught exception.
  let sessionError: Error | undefined;
  session.on('error', (error: Error) => (sessionError = error));
  /** Per path, built once: node:http2 copies the object it is given, so sharing it is safe. */
  const headersByPath = new Map<string, OutgoingHttpHeaders>();
  const headersFor = (path: string): OutgoingHttpHeaders => {
    let headers = headersByPath.get(path);
    if (!headers) {
      headers = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' };
      headersByPath.set(path, headers);
    }
    return headers;
  };
  const unaryFramed = (path: string, frame: Buffer): Promise<Buffer> => {
    if (session.closed || session.destroyed) {
      return Promise.reject(new LeanCallError(path, undefined, `session is closed${sessionError ? ` (${sessionError.message})` : ''}`));
    }
    const stream = session.request(headersFor(path), { endStream: false });
    const answer = settleCall(path, stream);
    stream.end(frame);
    return answer;
  };
  return {
    unaryFramed,
    unary: (path, message) => unaryFramed(path, grpcFrame(message)),
    close: () =>
      new Promise<void>((resolve) => {
        if (session.closed || session.destroyed) return resolve();
        session.close(() => resolve());
      }),
  };
}
