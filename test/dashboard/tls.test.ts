/**
 * With `--tls-cert`/`--tls-key` the dashboard serves HTTPS with the same certificate (and the session
 * cookie is `Secure`); with `--tls-ca-cert` (mTLS) it requires a client certificate, like gRPC does.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request, type RequestOptions } from 'node:https';
import { request as plainRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { buildApp, createBuiltinRegistry, type App } from '../../src/app';
import { createTestPki, type TestPki } from '../ecosystem/certificates';

jest.setTimeout(60_000);

let dir: string;
let pki: TestPki;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'dashboard-tls-'));
  pki = await createTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

function httpsCall(address: string, pathname: string, options: RequestOptions = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`https://${address}${pathname}`, { ca: readFileSync(pki.ca.cert), servername: 'localhost', ...options }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function startTlsApp(tls: App['config']['tls'], authTokens: string[] = []): Promise<{ app: App; address: string }> {
  const app = buildApp({ libraryDir: '', shutdownGraceMs: 100, dashboardAddr: '127.0.0.1:0', tls, authTokens }, { registry: createBuiltinRegistry() });
  const { dashboard } = await app.start('127.0.0.1:0');
  return { app, address: dashboard! };
}

test('TLS: the dashboard serves HTTPS only, and its session cookie is Secure', async () => {
  const { app, address } = await startTlsApp({ cert: pki.server.cert, key: pki.server.key }, ['tls-token']);
  try {
    expect(app.dashboard!.scheme).toBe('https');
    const overview = await httpsCall(address, '/api/overview', { headers: { authorization: 'Bearer tls-token' } });
    expect(overview.status).toBe(200);
    expect(JSON.parse(overview.body)).toMatchObject({ authRequired: true });
    const login = await httpsCall(address, '/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 'token=tls-token');
    expect(login.status).toBe(303);
    expect(String(login.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; Secure; Max-Age=43200$/);
    // Plain HTTP to the same port gets no dashboard.
    const plain = await new Promise<string>((resolve) => {
      const req = plainRequest(`http://${address}/api/overview`, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      req.on('error', (err) => resolve(`error ${err.message}`));
      req.end();
    });
    expect(plain).not.toBe('status 200');
  } finally {
    await app.close();
  }
});

test('mTLS: without a client certificate no connection; with one signed by the CA, 200', async () => {
  const { app, address } = await startTlsApp({ cert: pki.server.cert, key: pki.server.key, caCert: pki.ca.cert });
  try {
    await expect(httpsCall(address, '/api/overview')).rejects.toThrow();
    await expect(httpsCall(address, '/api/overview', { cert: readFileSync(pki.otherClient.cert), key: readFileSync(pki.otherClient.key) })).rejects.toThrow();
    const ok = await httpsCall(address, '/api/overview', { cert: readFileSync(pki.client.cert), key: readFileSync(pki.client.key) });
    expect(ok.status).toBe(200);
  } finally {
    await app.close();
  }
});
