import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { Server as NetServer, type Socket } from 'node:net';
import type { Logger } from '../logging/logger';
import { RateLimitedLog } from '../logging/rate-limited-log';

/**
 * Limits on the gRPC port's connections and HTTP/2 sessions (issue 19 items 2 and 3), built once at
 * start-up. What grpc-js honours as a server option is passed as one (see {@link grpcConnectionOptions});
 * the rest is done on the accepted sockets by {@link guardConnections}. docs/decisions.md says why.
 */
export interface ConnectionLimits {
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection (`--max-streams-per-connection`). */
  readonly maxStreamsPerConnection: number;
  /**
   * Node's `maxSessionMemory` per connection in MiB (`--max-session-memory-mb`): once a session holds more
   * (buffered responses and requests), its new streams are refused (RST_STREAM ENHANCE_YOUR_CALM).
   */
  readonly maxSessionMemoryMb: number;
  /** A connection with no call for this long is closed with GOAWAY (`--connection-idle-timeout-ms`; 0 = never). */
  readonly connectionIdleTimeoutMs: number;
  /** A connection that sent no byte in this long is closed (`--handshake-timeout-ms`; 0 = never). */
  readonly handshakeTimeoutMs: number;
  /** Most open connections on the gRPC port; beyond, new ones are closed at once (`--max-connections`; 0 = auto). */
  readonly maxConnections: number;
  /** Server keepalive: a PING after this long without activity; no answer in 20 s closes the connection. */
  readonly keepaliveTimeMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  maxStreamsPerConnection: 1024,
  maxSessionMemoryMb: 64,
  connectionIdleTimeoutMs: 5 * 60_000,
  handshakeTimeoutMs: 10_000,
  maxConnections: 0,
  keepaliveTimeMs: 2 * 60_000,
});

const KEEPALIVE_TIMEOUT_MS = 20_000;

/** The grpc-js server options these limits map to (read by grpc-js 1.14's server.js, checked there). */
export function grpcConnectionOptions(limits: ConnectionLimits): Record<string, number> {
  return {
    'grpc.max_concurrent_streams': limits.maxStreamsPerConnection,
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
    ...(limits.connectionIdleTimeoutMs > 0 ? { 'grpc.max_connection_idle_ms': limits.connectionIdleTimeoutMs } : {}),
    ...(limits.keepaliveTimeMs > 0 ? { 'grpc.keepalive_time_ms': limits.keepaliveTimeMs, 'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS } : {}),
  };
}

/** The process's soft open-file limit (Linux /proc), or undefined where it cannot be read. */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | undefined {
  try {
    const soft = /^Max open files\s+(\d+|unlimited)/m.exec(read())?.[1];
    return soft === undefined || soft === 'unlimited' ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * `--max-connections 0` (auto): 80% of the open-file limit, so the other 20% stay for the dashboard,
 * the metrics endpoint, the store and log files; 4,000 where the limit cannot be read.
 */
export function effectiveMaxConnections(configured: number, fdLimit = openFileLimit()): number {
  if (configured > 0) return configured;
  return fdLimit === undefined ? 4000 : Math.max(16, Math.floor(fdLimit * 0.8));
}

/** Handle of {@link guardConnections}. */
export interface ConnectionGuard {
  /** The connection limit in force. */
  readonly maxConnections: number;
  /** Closes the open connection from `peer` (`address:port`); false when there is none. */
  destroy(peer: string): boolean;
  close(): void;
}

/**
 * Guards the gRPC port's accepted sockets: the listening server's `maxConnections` (Node closes the
 * connections beyond it at once and emits `drop`, logged rate-limited), and a socket that has sent no
 * byte after `handshakeTimeoutMs` is closed (a TCP connection that never starts TLS or HTTP/2 holds a
 * descriptor and nothing else would ever free it).
 *
 * grpc-js keeps its http2 server private; as for the TLS handshake log, the server is found through
 * Node's `net.server.socket` diagnostics channel: the first connection accepted on `port` names it.
 */
export function guardConnections(options: { readonly port: number; readonly limits: ConnectionLimits; readonly logger: Logger }): ConnectionGuard {
  const { port, limits } = options;
  const maxConnections = effectiveMaxConnections(limits.maxConnections);
  const refused = new RateLimitedLog({ logger: options.logger, level: 'warn', summary: 'connections refused' });
  const silent = new RateLimitedLog({ logger: options.logger, level: 'info', summary: 'silent connections closed' });
  const guarded = new Set<NetServer>();
  const sockets = new Map<string, Socket>();
  const onDrop = (data?: { remoteAddress?: string; remotePort?: number }) => {
    const peer = data?.remoteAddress ? `${data.remoteAddress}:${data.remotePort ?? '?'}` : 'a client';
    refused.report('max-connections', `connection from ${peer} refused: ${maxConnections} connections are open (--max-connections)`, { peer, maxConnections });
  };
  const handshakeMs = limits.handshakeTimeoutMs;
  const onSocket = (message: unknown) => {
    const socket = (message as { socket?: Socket & { server?: unknown } }).socket;
    if (!socket || socket.localPort !== port) return;
    const server = socket.server;
    if (server instanceof NetServer && !guarded.has(server)) {
      guarded.add(server);
      server.maxConnections = maxConnections;
      server.on('drop', onDrop);
    }
    const key = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
    sockets.set(key, socket);
    socket.once('close', () => {
      if (sockets.get(key) === socket) sockets.delete(key);
    });
    if (handshakeMs > 0) {
      const timer = setTimeout(() => {
        if (socket.bytesRead > 0 || socket.destroyed) return;
        const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
        silent.report('silent', `connection from ${peer} closed: no byte in ${handshakeMs} ms (--handshake-timeout-ms)`, { peer });
        socket.destroy();
      }, handshakeMs);
      timer.unref();
      socket.once('close', () => clearTimeout(timer));
    }
  };
  subscribe('net.server.socket', onSocket);
  return {
    maxConnections,
    destroy(peer) {
      const socket = sockets.get(peer);
      if (!socket) return false;
      socket.destroy();
      return true;
    },
    close() {
      unsubscribe('net.server.socket', onSocket);
      for (const server of guarded) server.off('drop', onDrop);
      guarded.clear();
      sockets.clear();
      refused.flush();
      silent.flush();
    },
  };
}
