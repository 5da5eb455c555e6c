import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { Server as TlsServer, type TLSSocket } from 'node:tls';
import type { Logger } from '../logging/logger';
import { RateLimitedLog } from '../logging/rate-limited-log';

/** What clients are told nothing about, in words for the operator (by Node/OpenSSL error code). */
const HINTS: Readonly<Record<string, string>> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: 'the client sent no certificate, and mTLS (--tls-ca-cert) requires one',
  ERR_SSL_WRONG_VERSION_NUMBER: 'not TLS: a plaintext client on the TLS port?',
  ERR_SSL_HTTP_REQUEST: 'not TLS: a plaintext HTTP request on the TLS port',
  ERR_SSL_UNSUPPORTED_PROTOCOL: 'the client offered only TLS versions below 1.2',
  ERR_SSL_NO_SHARED_CIPHER: 'no cipher both sides support',
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "the client does not trust this server's certificate (unknown CA)",
  ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE: "the client rejected this server's certificate",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN: "the client rejected this server's certificate",
};

/** Handle of {@link logTlsHandshakeFailures}. */
export interface TlsHandshakeLog {
  /** Stops watching and writes the pending summary. */
  close(): void;
}

/**
 * Logs failed TLS handshakes on the gRPC port, which grpc-js neither reports nor logs (a client only
 * sees UNAVAILABLE, whatever went wrong): one `warn` line per failure with the peer and the reason —
 * no client certificate, a certificate the CA did not sign, a plaintext client, an old TLS version —
 * rate-limited (see {@link RateLimitedLog}). A connection closed during the handshake with no TLS error
 * (a client that rejected our certificate, or a TCP health check: the server cannot tell) is logged at
 * debug only, so load-balancer probes do not fill the log.
 *
 * grpc-js keeps its http2 server private, so the server is found through Node's `net.server.socket`
 * diagnostics channel: the first connection accepted on `port` by a TLS server names that server, and
 * its `tlsClientError` event is listened to from then on (before the connection's handshake has read
 * anything, so the first failure is seen too).
 */
export function logTlsHandshakeFailures(options: { readonly port: number; readonly logger: Logger }): TlsHandshakeLog {
  const failures = new RateLimitedLog({ logger: options.logger, level: 'warn', summary: 'TLS handshakes failed' });
  const closedEarly = new RateLimitedLog({ logger: options.logger, level: 'debug', summary: 'TLS connections closed during the handshake' });
  const watched = new Set<TlsServer>();
  const onFailure = (err: Error & { code?: string }, socket: TLSSocket) => {
    const peer = socket.remoteAddress ? `${socket.remoteAddress}:${socket.remotePort}` : 'a client';
    // TLS 1.3 checks a client certificate after the handshake and drops the connection without an
    // error of its own: the reason is the verification result.
    const rejected = socket.authorizationError;
    if (rejected) {
      const reason = `client certificate rejected: ${String(rejected)}`;
      failures.report(reason, `TLS handshake failed from ${peer}: ${reason}`, { peer, code: String(rejected) });
      return;
    }
    const code = err.code ?? 'unknown';
    if (code === 'ECONNRESET') {
      const reason = 'closed by the client during the handshake (it may not trust this certificate, or it was a TCP probe)';
      closedEarly.report(code, `TLS connection from ${peer} ${reason}`, { peer, code });
      return;
    }
    // OpenSSL's message is "<hex>:error:<code>:SSL routines:<function>:<reason>:<file>:<line>:": keep the reason.
    const openssl = err.message.split(':');
    const detail = openssl.length >= 6 && openssl[1] === 'error' ? openssl[5]! : err.message.trim();
    const reason = HINTS[code] ? `${HINTS[code]} (${detail})` : detail;
    failures.report(code, `TLS handshake failed from ${peer}: ${reason}`, { peer, code });
  };
  const onSocket = (message: unknown) => {
    const socket = (message as { socket?: Socket & { server?: unknown } }).socket;
    const server = socket?.server;
    if (!(server instanceof TlsServer) || watched.has(server) || socket?.localPort !== options.port) return;
    watched.add(server);
    server.on('tlsClientError', onFailure);
  };
  subscribe('net.server.socket', onSocket);
  return {
    close() {
      unsubscribe('net.server.socket', onSocket);
      for (const server of watched) server.off('tlsClientError', onFailure);
      watched.clear();
      failures.flush();
      closedEarly.flush();
    },
  };
}
