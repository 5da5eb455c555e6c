import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import path from 'node:path';
import type { Logger } from '../logging/logger';
import { RateLimitedLog } from '../logging/rate-limited-log';
import type { TaskStatus } from '../results/task-record';
import { formatListenAddress, parseListenAddress } from '../server/listen-address';
import type { TlsFiles } from '../server/tls';
import { DashboardAuth, SESSION_TTL_MS } from './dashboard-auth';
import { DashboardApi, MAX_LIST_LIMIT } from './dashboard-api';
import { LoginThrottle } from './login-throttle';

/** Content-Security-Policy of every answer: our own scripts, styles and API only; no inline code, no frames. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Most live-update (SSE) connections at once; more get 503. */
export const MAX_EVENT_CLIENTS = 32;
/** How often the live stream pushes a snapshot, ms. */
export const SNAPSHOT_INTERVAL_MS = 1_000;
/** Longest task id, method or search text accepted in a URL. */
const MAX_PARAM_CHARS = 1_024;
/** Largest login form body. */
const MAX_LOGIN_BODY = 4_096;
/** Characters of a request's URL written to the log. */
const MAX_LOGGED_URL = 200;
const STATUSES: readonly TaskStatus[] = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED'];

const STATIC_FILES: Readonly<Record<string, string>> = {
  '/app.js': 'text/javascript; charset=utf-8',
  '/login.js': 'text/javascript; charset=utf-8',
  '/style.css': 'text/css; charset=utf-8',
};

/** What {@link DashboardServer} serves. */
export interface DashboardServerOptions {
  readonly api: DashboardApi;
  /** Bearer tokens (`--auth-token`); empty: open. */
  readonly authTokens: readonly string[];
  /**
   * The gRPC server's TLS files (`--tls-*`): the dashboard then serves HTTPS with the same certificate,
   * and with a CA (mTLS) it requires client certificates too, so it is never less protected than gRPC.
   */
  readonly tls?: TlsFiles | undefined;
  readonly logger: Logger;
  /** How long a login lasts; default {@link SESSION_TTL_MS} (tests shorten it). */
  readonly sessionTtlMs?: number | undefined;
}

/** A request-level failure with its HTTP status and a message for the client. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Readonly<Record<string, string>> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The client went away while sending a body: nobody to answer, nothing wrong with the server. */
class ClientAbortedError extends Error {
  constructor() {
    super('the client closed the connection while sending the request body');
    this.name = 'ClientAbortedError';
  }
}

/**
 * The dashboard's HTTP server (node:http): the static page (HTML, CSS and vanilla JS from `public/`),
 * the JSON read API under `/api/`, the live stream (`/api/events`, server-sent events), and the login
 * form when `--auth-token` is set. Read-only: the only POSTs are login and logout.
 */
export class DashboardServer {
  readonly #api: DashboardApi;
  readonly #auth: DashboardAuth;
  readonly #logger: Logger;
  readonly #assets: ReadonlyMap<string, Buffer>;
  readonly #tls: { cert: Buffer; key: Buffer; ca: Buffer | undefined } | undefined;
  /** Open live streams and the login session each belongs to (undefined: bearer token or no auth). */
  readonly #events = new Map<ServerResponse, string | undefined>();
  readonly #throttle = new LoginThrottle();
  /** Client-triggered log lines are rate-limited (a scanner or a token guesser costs a few lines). */
  readonly #failedLogins: RateLimitedLog;
  readonly #abortedBodies: RateLimitedLog;
  readonly #requestErrors: RateLimitedLog;
  #ticker: NodeJS.Timeout | undefined;
  #http: Server | undefined;
  #loopbackOnly = false;

  constructor(options: DashboardServerOptions) {
    this.#api = options.api;
    this.#auth = new DashboardAuth(options.authTokens, options.sessionTtlMs ?? SESSION_TTL_MS);
    this.#logger = options.logger.child({ component: 'dashboard' });
    this.#failedLogins = new RateLimitedLog({ logger: this.#logger, level: 'warn', summary: 'dashboard logins failed', intervalMs: 60_000 });
    this.#abortedBodies = new RateLimitedLog({ logger: this.#logger, level: 'debug', summary: 'dashboard request bodies aborted' });
    this.#requestErrors = new RateLimitedLog({ logger: this.#logger, level: 'error', summary: 'dashboard requests failed' });
    this.#assets = loadAssets();
    // Already validated by the gRPC server's credentials (start-up fails there naming the flag).
    const tls = options.tls;
    this.#tls = tls ? { cert: readFileSync(tls.cert), key: readFileSync(tls.key), ca: tls.caCert ? readFileSync(tls.caCert) : undefined } : undefined;
  }

  /** `https` when the server has TLS files, else `http`. */
  get scheme(): 'http' | 'https' {
    return this.#tls ? 'https' : 'http';
  }

  /** Listens on `host:port`; resolves with the real address. */
  async listen(address: string): Promise<string> {
    const { host, port } = parseListenAddress(address);
    this.#loopbackOnly = isLoopback(host);
    const handler = (req: IncomingMessage, res: ServerResponse) => this.#handle(req, res);
    const tls = this.#tls;
    const http: Server = tls
      ? createHttpsServer({ cert: tls.cert, key: tls.key, ...(tls.ca ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) }, handler)
      : createServer(handler);
    http.headersTimeout = 10_000;
    http.requestTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => {
        http.off('error', reject);
        resolve();
      });
    });
    this.#http = http;
    const bound = http.address();
    return formatListenAddress({ host, port: typeof bound === 'object' && bound ? bound.port : port });
  }

  /** Ends live streams, stops listening and stops the API's sampler. */
  async close(): Promise<void> {
    this.#stopTicker();
    this.#api.close();
    for (const res of this.#events.keys()) res.end();
    this.#events.clear();
    for (const log of [this.#failedLogins, this.#abortedBodies, this.#requestErrors]) log.flush();
    const http = this.#http;
    this.#http = undefined;
    if (!http) return;
    const closed = new Promise<void>((resolve) => http.close(() => resolve()));
    http.closeAllConnections();
    await closed;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    setSecurityHeaders(res);
    this.#route(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        if (!res.headersSent) sendJson(res, err.status, { error: err.message }, err.headers);
        return;
      }
      if (err instanceof ClientAbortedError) {
        this.#abortedBodies.report('aborted', 'dashboard request body aborted by the client', { remote: req.socket.remoteAddress, url: loggedUrl(req) });
        res.destroy();
        return;
      }
      this.#requestErrors.report(err instanceof Error ? err.name : 'error', 'dashboard request failed', { url: loggedUrl(req), err });
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error (see the server log)' });
      else res.end();
    });
  }

  async #route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // DNS rebinding: a page on another site must not reach a loopback-only dashboard through its own name.
    if (this.#loopbackOnly && !isLoopbackHostHeader(req.headers.host)) throw new HttpError(421, 'this dashboard answers only to localhost and loopback addresses');
    const url = requestUrl(req.url);
    const pathname = url.pathname;
    if (req.method === 'POST' && (pathname === '/login' || pathname === '/logout')) {
      checkSameOrigin(req);
      if (pathname === '/login') await this.#login(req, res);
      else this.#logout(req, res);
      return;
    }
    if (req.method !== 'GET') throw new HttpError(405, `${req.method ?? 'this method'} is not allowed: the dashboard is read-only`);
    if (pathname === '/favicon.ico') {
      res.writeHead(204, { 'cache-control': 'max-age=86400' }).end();
      return;
    }
    const staticType = STATIC_FILES[pathname];
    if (staticType) {
      sendAsset(res, 200, staticType, this.#assets.get(pathname)!, 'no-cache');
      return;
    }
    const allowed = this.#auth.allows(req);
    if (pathname === '/' || pathname === '/index.html') {
      if (allowed) sendAsset(res, 200, 'text/html; charset=utf-8', this.#assets.get('/index.html')!, 'no-store');
      else sendAsset(res, 401, 'text/html; charset=utf-8', this.#assets.get('/login.html')!, 'no-store');
      return;
    }
    if (!pathname.startsWith('/api/')) throw new HttpError(404, `not found: ${pathname.slice(0, 100)}`);
    if (!allowed) {
      throw new HttpError(401, this.#auth.enabled && req.headers.authorization !== undefined
        ? 'invalid token'
        : 'authentication required: send "authorization: Bearer <token>" or log in at /');
    }
    await this.#apiRoute(pathname, url.searchParams, req, res);
  }

  async #apiRoute(pathname: string, params: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (pathname === '/api/overview') return sendJson(res, 200, await this.#api.overview());
    if (pathname === '/api/registry') return sendJson(res, 200, this.#api.registry());
    if (pathname === '/api/events') return this.#subscribe(req, res);
    if (pathname === '/api/tasks') {
      const status = param(params, 'status');
      if (status !== undefined && !STATUSES.includes(status as TaskStatus)) {
        throw new HttpError(400, `status must be one of ${STATUSES.join(', ')}, got ${JSON.stringify(status.slice(0, 40))}`);
      }
      const limitText = param(params, 'limit');
      const limit = limitText === undefined ? 100 : Number(limitText);
      if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
        throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}, got ${JSON.stringify(limitText?.slice(0, 40))}`);
      }
      const beforeText = param(params, 'before');
      const before = beforeText === undefined ? undefined : Number(beforeText);
      if (before !== undefined && (!Number.isSafeInteger(before) || before < 0)) {
        throw new HttpError(400, `before must be a whole number ≥ 0 (a page's "next"), got ${JSON.stringify(beforeText?.slice(0, 40))}`);
      }
      return sendJson(res, 200, this.#api.tasks({ status: status as TaskStatus | undefined, method: param(params, 'method'), idContains: param(params, 'q'), limit, before }));
    }
    const match = /^\/api\/tasks\/([^/]+)(\/graph)?$/.exec(pathname);
    if (match) {
      const taskId = decodeSegment(match[1]!);
      if (match[2]) {
        const depthText = param(params, 'depth');
        const depth = depthText === undefined ? undefined : Number(depthText);
        if (depth !== undefined && (!Number.isSafeInteger(depth) || depth < 1 || depth > 10)) {
          throw new HttpError(400, `depth must be a whole number from 1 to 10, got ${JSON.stringify(depthText?.slice(0, 40))}`);
        }
        const graph = await this.#api.graph(taskId, depth);
        if (!graph) throw new HttpError(404, `unknown task: ${JSON.stringify(taskId.slice(0, 100))}`);
        return sendJson(res, 200, graph);
      }
      const detail = await this.#api.task(taskId);
      if (!detail) throw new HttpError(404, `unknown task: ${JSON.stringify(taskId.slice(0, 100))} (never seen, or evicted from the history and the result store)`);
      return sendJson(res, 200, detail);
    }
    throw new HttpError(404, `not found: ${pathname.slice(0, 100)}`);
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const remote = req.socket.remoteAddress;
    const waitMs = this.#auth.enabled ? this.#throttle.retryAfterMs(remote) : 0;
    if (waitMs > 0) {
      // Refused before the body is read or a token compared: a guesser learns nothing while throttled.
      const seconds = Math.ceil(waitMs / 1000);
      this.#failedLogins.report('throttled', 'dashboard login refused: too many wrong tokens from this client', { remote });
      throw new HttpError(429, `too many wrong tokens from this address; try again in ${seconds} s`, { 'retry-after': String(seconds) });
    }
    const body = new URLSearchParams(await readBody(req, MAX_LOGIN_BODY));
    const session = this.#auth.enabled ? this.#auth.login(body.get('token') ?? '') : undefined;
    if (this.#auth.enabled && !session) {
      const throttled = this.#throttle.failed(remote);
      this.#failedLogins.report('wrong token', throttled ? 'dashboard login failed; this client is now throttled' : 'dashboard login failed', { remote });
      // The failure is flagged in the URL; the token never is.
      res.writeHead(303, { location: '/?login=failed' }).end();
      return;
    }
    if (session) this.#throttle.succeeded(remote);
    const headers: Record<string, string> = { location: '/' };
    if (session) headers['set-cookie'] = this.#auth.cookie(session, this.#tls !== undefined);
    res.writeHead(303, headers).end();
  }

  #logout(req: IncomingMessage, res: ServerResponse): void {
    const session = this.#auth.logout(req);
    // Every open page of this session (other tabs too) loses its live stream now.
    if (session !== undefined) this.#endStreams((owner) => owner === session);
    res.writeHead(303, { location: '/', 'set-cookie': this.#auth.cookie(undefined, this.#tls !== undefined) }).end();
  }

  /** Ends the live streams whose session `ends` says; the stream's 'close' handler forgets it. */
  #endStreams(ends: (session: string) => boolean): void {
    for (const [res, session] of this.#events) {
      if (session !== undefined && ends(session)) {
        this.#events.delete(res);
        res.end();
      }
    }
    if (this.#events.size === 0) this.#stopTicker();
  }

  /** A live stream: one overview snapshot now and every second (one computation shared by all clients). */
  async #subscribe(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.#events.size >= MAX_EVENT_CLIENTS) throw new HttpError(503, `too many live connections (limit ${MAX_EVENT_CLIENTS}); close another dashboard tab`);
    const first = await this.#api.overview();
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\n\n${eventOf(first)}`);
    this.#events.set(res, this.#auth.sessionOf(req));
    req.on('close', () => {
      this.#events.delete(res);
      if (this.#events.size === 0) this.#stopTicker();
    });
    if (!this.#ticker) this.#ticker = setInterval(() => void this.#broadcast(), SNAPSHOT_INTERVAL_MS);
  }

  async #broadcast(): Promise<void> {
    // A session that expired (or was dropped) since the last tick ends its streams before they get data.
    this.#endStreams((session) => !this.#auth.isLive(session));
    if (this.#events.size === 0) return;
    let event: string;
    try {
      event = eventOf(await this.#api.overview());
    } catch (err) {
      this.#logger.error('dashboard snapshot failed', { err });
      return;
    }
    for (const res of this.#events.keys()) res.write(event);
  }

  #stopTicker(): void {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = undefined;
  }
}

function eventOf(overview: unknown): string {
  return `event: overview\ndata: ${JSON.stringify(overview)}\n\n`;
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  // same-origin, not no-referrer: under no-referrer browsers send `Origin: null` on our own form posts,
  // which the login check refuses; our URLs carry no secrets, and other sites get no Referer either way.
  res.setHeader('referrer-policy', 'same-origin');
  res.setHeader('cross-origin-opener-policy', 'same-origin');
  res.setHeader('cross-origin-resource-policy', 'same-origin');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(JSON.stringify(body));
}

/**
 * The request target as a URL. Only origin-form targets (`/path?query`) are served; the path is taken
 * as is, so `//x` is the path `//x` (a 404), never a host.
 */
function requestUrl(target: string | undefined): URL {
  if (!target || !target.startsWith('/')) throw new HttpError(400, 'the request target must be a path starting with /');
  try {
    return new URL(`http://dashboard.invalid${target}`);
  } catch {
    throw new HttpError(400, 'the request target is not a valid path');
  }
}

/** The request's URL for a log line, cut short (it is client data). */
function loggedUrl(req: IncomingMessage): string {
  const url = req.url ?? '';
  return url.length > MAX_LOGGED_URL ? `${url.slice(0, MAX_LOGGED_URL)}…` : url;
}

function sendAsset(res: ServerResponse, status: number, type: string, body: Buffer, cache: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': cache, 'content-length': body.length }).end(body);
}

/** A query parameter, absent when empty; bounded in length. */
function param(params: URLSearchParams, name: string): string | undefined {
  const value = params.get(name);
  if (value === null || value === '') return undefined;
  if (value.length > MAX_PARAM_CHARS) throw new HttpError(400, `${name} is longer than ${MAX_PARAM_CHARS} characters`);
  return value;
}

function decodeSegment(segment: string): string {
  let value: string;
  try {
    value = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'the task id in the path is not valid percent-encoding');
  }
  if (value.length > MAX_PARAM_CHARS) throw new HttpError(400, `task id is longer than ${MAX_PARAM_CHARS} characters`);
  return value;
}

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  let size = 0;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > max) throw new HttpError(413, `request body is larger than ${max} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // 'aborted' / ECONNRESET: the client hung up mid-body.
    throw new ClientAbortedError();
  }
  if (req.readableAborted) throw new ClientAbortedError();
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Form posts must come from the dashboard's own page (browsers send Origin on POST). `Origin: null`
 * (a sandboxed frame, a `data:` page, a redirect chain across sites) is refused: it cannot be ours.
 * No Origin at all is a script (curl), which must hold the token anyway.
 */
function checkSameOrigin(req: IncomingMessage): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin === 'null') throw new HttpError(403, 'form posts from an opaque origin (Origin: null) are refused');
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new HttpError(403, 'bad Origin header');
  }
  if (host !== req.headers.host) throw new HttpError(403, 'cross-origin form posts are refused');
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isLoopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const match = /^(?:\[([^\]]+)\]|([^:]+))(?::\d+)?$/.exec(header);
  return match !== null && isLoopback((match[1] ?? match[2]!).toLowerCase());
}

/**
 * The page's files, read once at start. They sit beside this module in the sources (`src/dashboard/
 * public`); compiled code in `dist/src/dashboard` reads the same directory of the package.
 */
function loadAssets(): ReadonlyMap<string, Buffer> {
  const candidates = [path.join(__dirname, 'public'), path.resolve(__dirname, '../../../src/dashboard/public')];
  const dir = candidates.find((candidate) => existsSync(path.join(candidate, 'index.html')));
  if (!dir) throw new Error(`dashboard assets not found (looked in ${candidates.join(', ')})`);
  const assets = new Map<string, Buffer>();
  for (const name of ['/index.html', '/login.html', ...Object.keys(STATIC_FILES)]) assets.set(name, readFileSync(path.join(dir, name)));
  return assets;
}
