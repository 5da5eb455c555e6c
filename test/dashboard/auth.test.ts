/**
 * With `--auth-token`, the dashboard requires the token too: a bearer header (scripts) or the login
 * form's session cookie (browsers). The cookie is HttpOnly/SameSite=Strict and holds no token; the token
 * never appears in a URL.
 */
import type { Overview } from '../../src/dashboard/dashboard-api';
import { SESSION_COOKIE } from '../../src/dashboard/dashboard-auth';
import { getJson, startDashboardServer, type DashboardTestServer } from './dashboard-helpers';

jest.setTimeout(60_000);

const TOKEN = 'dashboard-s3cret-token';

describe('dashboard with token auth', () => {
  let server: DashboardTestServer;

  beforeAll(async () => {
    server = await startDashboardServer({ authTokens: [TOKEN, 'second-token'] });
  });
  afterAll(() => server.close());

  const login = (token: string, headers: Record<string, string> = {}) =>
    fetch(`${server.baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams({ token }).toString(),
    });

  test('API endpoints answer 401 without a token and with a wrong one, 200 with a right one', async () => {
    for (const path of ['/api/overview', '/api/tasks', '/api/registry', '/api/tasks/x', '/api/tasks/x/graph', '/api/events']) {
      const anonymous = await getJson<{ error: string }>(server.baseUrl, path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.error).toBe('authentication required: send "authorization: Bearer <token>" or log in at /');
      const wrong = await getJson<{ error: string }>(server.baseUrl, path, { authorization: 'Bearer not-the-token' });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe('invalid token');
    }
    const ok = await getJson<Overview>(server.baseUrl, '/api/overview', { authorization: `Bearer ${TOKEN}` });
    expect(ok.status).toBe(200);
    expect(ok.body.totals.accepted).toBe(0);
    expect(ok.body.authRequired).toBe(true);
    expect((await getJson(server.baseUrl, '/api/tasks', { authorization: 'Bearer second-token' })).status).toBe(200);
  });

  test('the page without a session is the login form (401), with no data in it', async () => {
    const res = await fetch(`${server.baseUrl}/`);
    expect(res.status).toBe(401);
    const html = await res.text();
    expect(html).toContain('<form method="post" action="/login"');
    expect(html).toContain('type="password" name="token"');
    expect(html).not.toContain('/app.js');
    // It names every place a token can come from, not only the flag.
    for (const source of ['--auth-token', '--auth-token-file', 'TASK_SCHEDULER_AUTH_TOKEN']) expect(html).toContain(`<code>${source}</code>`);
    // Static files carry no data and the login page needs them.
    expect((await fetch(`${server.baseUrl}/style.css`)).status).toBe(200);
  });

  test('a wrong token at the login form: back to the form, no cookie, no token in the URL', async () => {
    const res = await login('guess');
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/?login=failed');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  test('the login form hands out an HttpOnly, SameSite=Strict session cookie that is not the token', async () => {
    const res = await login(TOKEN);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200$`));
    expect(cookie).not.toContain(TOKEN);
    const session = cookie.split(';')[0]!;

    expect((await getJson(server.baseUrl, '/api/overview', { cookie: session })).status).toBe(200);
    const page = await fetch(`${server.baseUrl}/`, { headers: { cookie: session } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/app.js');
    expect((await getJson(server.baseUrl, '/api/overview', { cookie: `${SESSION_COOKIE}=forged` })).status).toBe(401);

    const logout = await fetch(`${server.baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session } });
    expect(logout.status).toBe(303);
    expect(logout.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await getJson(server.baseUrl, '/api/overview', { cookie: session })).status).toBe(401);
  });

  test('cross-origin login posts and oversized bodies are refused', async () => {
    const crossSite = await login(TOKEN, { origin: 'http://attacker.example' });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();
    const huge = await login('x'.repeat(10_000));
    expect(huge.status).toBe(413);
  });
});
