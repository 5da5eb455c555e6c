/**
 * Sessions, streams and client-triggered logging of the dashboard, over real HTTP: logging out (and a
 * session's expiry) ends every live stream of that session; wrong login tokens are throttled per client
 * and their log lines collapsed; odd request targets, `Origin: null` and aborted login bodies are
 * answered without error-level logs.
 */
import { request, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Logger } from '../../src/logging/logger';
import { DashboardApi } from '../../src/dashboard/dashboard-api';
import { DashboardServer } from '../../src/dashboard/dashboard-server';
import { LOGIN_FAILURES_PER_WINDOW, clientKey } from '../../src/dashboard/login-throttle';
import { TaskHistory } from '../../src/dashboard/task-history';
import { startTestServer, type TestServer } from '../helpers/start-server';

jest.setTimeout(60_000);

const TOKEN = 'sessions-s3cret';

interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown>;
}

function recordingLogger(lines: LogLine[]): Logger {
  const at = (level: string) => (message: string, meta: Record<string, unknown> = {}) => {
    lines.push({ level, message, meta });
  };
  const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger, isDebugEnabled: () => true };
  return logger;
}

/** A dashboard over a real app's engine, with a recording logger and the given session lifetime. */
async function startDashboard(app: TestServer, lines: LogLine[], sessionTtlMs?: number): Promise<{ dashboard: DashboardServer; baseUrl: string }> {
  const { scheduler, results, registry, plugins, pool } = app.app;
  const dashboard = new DashboardServer({
    api: new DashboardApi({ scheduler, results, registry, plugins, pool, history: new TaskHistory(100), authRequired: true }),
    authTokens: [TOKEN],
    logger: recordingLogger(lines),
    sessionTtlMs,
  });
  const address = await dashboard.listen('127.0.0.1:0');
  return { dashboard, baseUrl: `http://${address}` };
}

async function login(baseUrl: string, token: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token }).toString(),
  });
}

async function sessionCookie(baseUrl: string): Promise<string> {
  const res = await login(baseUrl, TOKEN);
  expect(res.status).toBe(303);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** An open `/api/events` stream (node:http): resolves once the first event arrived; `ended` settles when the server ends it. */
function openStream(baseUrl: string, cookie: string): Promise<{ res: IncomingMessage; ended: Promise<void>; events: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(`${baseUrl}/api/events`, { headers: { cookie } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`stream answered ${res.statusCode}`));
        return;
      }
      let events = 0;
      const ended = new Promise<void>((done) => {
        res.on('end', () => done());
        res.on('close', () => done());
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const before = events;
        events += chunk.split('event: overview').length - 1;
        if (before === 0 && events > 0) resolve({ res, ended, events: () => events, close: () => req.destroy() });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Whether `promise` settles within `ms` (for "the stream is still open": it must not end). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  clearTimeout(timer);
  return settled;
}

describe('dashboard sessions and streams', () => {
  let app: TestServer;
  beforeAll(async () => {
    app = await startTestServer();
  });
  afterAll(() => app.close());

  test('POST /logout ends every open /api/events stream of that session, and only those', async () => {
    const lines: LogLine[] = [];
    const { dashboard, baseUrl } = await startDashboard(app, lines);
    try {
      const mine = await sessionCookie(baseUrl);
      const other = await sessionCookie(baseUrl);
      const [tab1, tab2, otherTab] = await Promise.all([openStream(baseUrl, mine), openStream(baseUrl, mine), openStream(baseUrl, other)]);

      const logout = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: mine } });
      expect(logout.status).toBe(303);
      // Both tabs of the session end at once (well before the next 1 s snapshot would matter).
      expect(await settlesWithin(Promise.all([tab1.ended, tab2.ended]), 5_000)).toBe(true);
      // The other session's stream keeps receiving snapshots.
      const seen = otherTab.events();
      expect(await settlesWithin(otherTab.ended, 2_500)).toBe(false);
      expect(otherTab.events()).toBeGreaterThan(seen);
      // And the logged-out cookie cannot open a new one.
      expect((await fetch(`${baseUrl}/api/events`, { headers: { cookie: mine } })).status).toBe(401);
      otherTab.close();
    } finally {
      await dashboard.close();
    }
  });

  test('a session that expires ends its open streams', async () => {
    const lines: LogLine[] = [];
    const { dashboard, baseUrl } = await startDashboard(app, lines, 1_500);
    try {
      const cookie = await sessionCookie(baseUrl);
      const stream = await openStream(baseUrl, cookie);
      // Expiry is checked at every snapshot (1 s): the stream ends within ~1.5 s + 1 s.
      expect(await settlesWithin(stream.ended, 8_000)).toBe(true);
      expect((await fetch(`${baseUrl}/api/overview`, { headers: { cookie } })).status).toBe(401);
    } finally {
      await dashboard.close();
    }
  });

  test('wrong tokens are throttled per client (429, right token too) and their log lines collapse', async () => {
    const lines: LogLine[] = [];
    const { dashboard, baseUrl } = await startDashboard(app, lines);
    try {
      for (let i = 0; i < LOGIN_FAILURES_PER_WINDOW; i++) {
        const res = await login(baseUrl, `guess-${i}`);
        expect(res.status).toBe(303);
        expect(res.headers.get('location')).toBe('/?login=failed');
      }
      for (let i = 0; i < 35; i++) {
        const res = await login(baseUrl, `guess-more-${i}`);
        expect(res.status).toBe(429);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(((await res.json()) as { error: string }).error).toMatch(/^too many wrong tokens from this address; try again in \d+ s$/);
      }
      // While throttled, the right token is refused too (no token is compared).
      const right = await login(baseUrl, TOKEN);
      expect(right.status).toBe(429);
      expect(right.headers.get('set-cookie')).toBeNull();
      // 41 failed attempts: the rate-limited log wrote at most its burst (5) one by one.
      const loginLines = lines.filter((line) => line.message.startsWith('dashboard login'));
      expect(loginLines.length).toBeLessThanOrEqual(5);
      expect(loginLines.every((line) => line.level === 'warn')).toBe(true);
      expect(loginLines.some((line) => line.message === 'dashboard login failed; this client is now throttled')).toBe(true);
      await dashboard.close();
      // Closing flushes the summary: the rest are counted, not lost.
      const summary = lines.find((line) => line.message.startsWith('dashboard logins failed:'));
      expect(summary?.message).toMatch(/^dashboard logins failed: \d+ more in the last 60 s \(\d+× throttled\)$/);
      expect(summary?.meta['suppressed']).toBe(41 - loginLines.length);
    } finally {
      await dashboard.close();
    }
  });

  test('the throttle keys IPv6 clients by /64 and IPv4 as is', () => {
    expect(clientKey('127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('::ffff:10.0.0.7')).toBe('10.0.0.7');
    expect(clientKey('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:0:1::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });

  test('GET //… and other odd targets answer 4xx before auth, with no error logged', async () => {
    const lines: LogLine[] = [];
    const { dashboard, baseUrl } = await startDashboard(app, lines);
    try {
      const long = `//${'x'.repeat(5_000)}`;
      for (const target of ['//', '//evil.example/api/overview', long, '//api/tasks']) {
        const status = await rawStatus(baseUrl, `GET ${target} HTTP/1.1`);
        expect(status).toBe(404);
      }
      expect(await rawStatus(baseUrl, 'GET * HTTP/1.1')).toBe(400);
      expect(lines.filter((line) => line.level === 'error')).toEqual([]);
    } finally {
      await dashboard.close();
    }
  });

  test('Origin: null is refused on login and logout', async () => {
    const lines: LogLine[] = [];
    const { dashboard, baseUrl } = await startDashboard(app, lines);
    try {
      const res = await login(baseUrl, TOKEN, { origin: 'null' });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { error: string }).error).toBe('form posts from an opaque origin (Origin: null) are refused');
      expect(res.headers.get('set-cookie')).toBeNull();
      const cookie = await sessionCookie(baseUrl);
      const logout = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: 'null' } });
      expect(logout.status).toBe(403);
      expect((await fetch(`${baseUrl}/api/overview`, { headers: { cookie } })).status).toBe(200);
      // The page's own origin still works; the Referrer-Policy keeps browsers sending it on our own form
      // posts (under no-referrer, Chromium sends Origin: null: see the browser test's login).
      const own = await login(baseUrl, TOKEN, { origin: baseUrl });
      expect(own.status).toBe(303);
      expect(own.headers.get('referrer-policy')).toBe('same-origin');
    } finally {
      await dashboard.close();
    }
  });

  test('an aborted /login body is logged at debug level, not as an error', async () => {
    const lines: LogLine[] = [];
    const { dashboard, baseUrl } = await startDashboard(app, lines);
    try {
      const { hostname, port } = new URL(baseUrl);
      for (let i = 0; i < 3; i++) {
        await new Promise<void>((resolve, reject) => {
          const socket = connect(Number(port), hostname, () => {
            socket.write(`POST /login HTTP/1.1\r\nhost: ${hostname}:${port}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 1000\r\n\r\ntoken=abc`);
            setTimeout(() => {
              socket.destroy();
              resolve();
            }, 100);
          });
          socket.on('error', reject);
        });
      }
      await waitFor(() => lines.filter((line) => line.message === 'dashboard request body aborted by the client').length === 3);
      expect(lines.filter((line) => line.level === 'error' || line.level === 'warn')).toEqual([]);
      expect(lines.find((line) => line.message === 'dashboard request body aborted by the client')?.level).toBe('debug');
    } finally {
      await dashboard.close();
    }
  });
});

/** The status of a hand-written request line (fetch normalises `//x` and `*`, so a raw socket it is). */
function rawStatus(baseUrl: string, requestLine: string): Promise<number> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(`${requestLine}\r\nhost: ${hostname}:${port}\r\nconnection: close\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (match) resolve(Number(match[1]));
      else reject(new Error(`no status line in ${JSON.stringify(text.slice(0, 100))}`));
    });
    socket.on('error', reject);
  });
}

async function waitFor(condition: () => boolean, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
