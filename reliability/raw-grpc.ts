/**
 * gRPC over plain node:http2, byte by byte: for the black-box fuzzer, which needs to send what no gRPC
 * client would (bad length prefixes, compressed flags without an encoding, truncated frames, garbage
 * headers) and to see exactly what comes back.
 */
import http2 from 'node:http2';

/** What came back for one raw call. */
export interface RawReply {
  /** HTTP status of the response headers (undefined when none came). */
  readonly httpStatus: number | undefined;
  /** grpc-status from the trailers (or a trailers-only response); undefined when absent. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;
  /** Bytes of the response body. */
  readonly bodyBytes: number;
  /** The response body (the first 64 KiB). */
  readonly body: Buffer;
  /** The stream ended with an error or a reset (its code), when it did. */
  readonly streamError: string | undefined;
  /** No end within the timeout (a hang: always a defect). */
  readonly timedOut: boolean;
}

/** A gRPC length-prefixed message: flag byte, 4-byte big-endian length, bytes. */
export function frame(message: Uint8Array, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = options.compressed ? 1 : 0;
  out.writeUInt32BE(options.declaredLength ?? message.length, 1);
  out.set(message, 5);
  return out;
}

/** One raw request on `session`. `resetAfterWrite` cancels the stream after writing instead of ending it. */
export interface RawRequest {
  readonly path: string;
  readonly body: Buffer;
  /** Headers over the defaults (POST, application/grpc, te: trailers); `null` removes one. */
  readonly headers?: Readonly<Record<string, string | null>>;
  readonly resetAfterWrite?: boolean;
  readonly timeoutMs?: number;
}

export function rawCall(session: http2.ClientHttp2Session, request: RawRequest): Promise<RawReply> {
  const headers: Record<string, string> = { ':method': 'POST', ':path': request.path, 'content-type': 'application/grpc', te: 'trailers' };
  for (const [name, value] of Object.entries(request.headers ?? {})) {
    if (value === null) delete headers[name];
    else headers[name] = value;
  }
  return new Promise((resolve) => {
    let httpStatus: number | undefined;
    let grpcStatus: number | undefined;
    let grpcMessage = '';
    let bodyBytes = 0;
    const chunks: Buffer[] = [];
    let streamError: string | undefined;
    let settled = false;
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ httpStatus, grpcStatus, grpcMessage, bodyBytes, body: Buffer.concat(chunks).subarray(0, 65536), streamError, timedOut });
    };
    const readStatus = (h: http2.IncomingHttpHeaders) => {
      if (h['grpc-status'] !== undefined) {
        grpcStatus = Number(h['grpc-status']);
        grpcMessage = decodeURIComponent(String(h['grpc-message'] ?? ''));
      }
    };
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      streamError = err instanceof Error ? err.message : String(err);
      resolve({ httpStatus, grpcStatus, grpcMessage, bodyBytes, body: Buffer.alloc(0), streamError, timedOut: false });
      return;
    }
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      finish(true);
    }, request.timeoutMs ?? 15_000);
    stream.on('response', (h) => {
      httpStatus = Number(h[':status']);
      readStatus(h);
    });
    stream.on('trailers', readStatus);
    stream.on('data', (chunk: Buffer) => {
      if (bodyBytes < 65536) chunks.push(chunk);
      bodyBytes += chunk.length;
    });
    stream.on('error', (err) => (streamError = err.message));
    stream.on('close', () => {
      if (stream.rstCode && stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR && streamError === undefined) streamError = `reset ${stream.rstCode}`;
      finish(false);
    });
    if (request.resetAfterWrite) {
      stream.write(request.body, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    } else {
      stream.end(request.body);
    }
  });
}

/** Opens an HTTP/2 session to `host:port` (plaintext) and waits until it is connected. */
export function connectRaw(address: string): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${address}`);
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}
