/**
 * What TLS failures tell the operator and the user: failed handshakes are logged with the reason
 * (rate-limited, repeats collapsed with a count), and the typed client connects to an IP address over
 * TLS without Node's DEP0123 warning — while still checking that the certificate names that address.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import { toAny } from '../../src/args/encode-arg';
import { buildApp, createBuiltinRegistry } from '../../src/app';
import { createTaskSchedulerClient, reverseDnsName } from '../../src/client/create-client';
import type { Logger } from '../../src/logging/logger';
import { RateLimitedLog } from '../../src/logging/rate-limited-log';
import { ROOT, run } from '../helpers/cli';
import { expectGrpcError, startTestServer, Status, type TestServer } from '../helpers/start-server';
import { createTestPki, type TestPki } from './certificates';

jest.setTimeout(90_000);

/** A logger that keeps what it is given. */
function recordingLogger(): Logger & { lines: Array<{ level: string; message: string; meta: Record<string, unknown> }> } {
  const lines: Array<{ level: string; message: string; meta: Record<string, unknown> }> = [];
  const at = (level: string) => (message: string, meta: Record<string, unknown> = {}) => void lines.push({ level, message, meta });
  const logger = { lines, error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger, isDebugEnabled: () => true };
  return logger;
}

let dir: string;
let pki: TestPki;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-eco-tls-diag-'));
  pki = await createTestPki(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Opens a TLS connection and resolves once it has failed or closed (or connected, then closes it). */
function tlsAttempt(port: number, options: ConnectionOptions): Promise<void> {
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ALPNProtocols: ['h2'], ...options });
    socket.on('secureConnect', () => setTimeout(() => socket.destroy(), 200));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}
/** Sends plaintext HTTP/2's preface to the TLS port. */
function plaintextAttempt(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1', () => socket.write('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve());
  });
}
const until = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 100 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
};

describe('failed handshakes are logged with the reason', () => {
  let server: TestServer;
  let logger: ReturnType<typeof recordingLogger>;
  let port: number;
  beforeAll(async () => {
    logger = recordingLogger();
    server = await startTestServer(
      { libraryDir: '', workerThreads: 0, tls: { cert: pki.server.cert, key: pki.server.key, caCert: pki.ca.cert } },
      { logger },
      { tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } },
    );
    port = Number(server.address.split(':')[1]);
  });
  afterAll(() => server.close());
  const warnings = () => logger.lines.filter((line) => line.level === 'warn' && line.message.startsWith('TLS handshake'));

  test.each([
    ['no client certificate', () => ({ ca: readFileSync(pki.ca.cert) }), /^TLS handshake failed from 127\.0\.0\.1:\d+: the client sent no certificate, and mTLS \(--tls-ca-cert\) requires one \(peer did not return a certificate\)$/],
    ['a client certificate another CA signed', () => ({ ca: readFileSync(pki.ca.cert), cert: readFileSync(pki.otherClient.cert), key: readFileSync(pki.otherClient.key) }), /^TLS handshake failed from a client: client certificate rejected: UNABLE_TO_VERIFY_LEAF_SIGNATURE$/],
    ['TLS 1.1 only', () => ({ rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }), /^TLS handshake failed from 127\.0\.0\.1:\d+: the client offered only TLS versions below 1\.2 \(unsupported protocol\)$/],
  ] as Array<[string, () => ConnectionOptions, RegExp]>)('%s', async (_what, options, expected) => {
    const before = warnings().length;
    await tlsAttempt(port, options());
    await until(() => warnings().length > before, 'the warning');
    expect(warnings()[before]!.message).toMatch(expected);
  });

  test('a plaintext client on the TLS port', async () => {
    const before = warnings().length;
    await plaintextAttempt(port);
    await until(() => warnings().length > before, 'the warning');
    expect(warnings()[before]!.message).toMatch(/^TLS handshake failed from 127\.0\.0\.1:\d+: not TLS: a plaintext client on the TLS port\? \(wrong version number\)$/);
    expect(warnings()[before]!.meta).toMatchObject({ code: 'ERR_SSL_WRONG_VERSION_NUMBER', peer: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  test('good clients still get in, and log nothing', async () => {
    const before = logger.lines.length;
    expect((await server.client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] })).result).toBe('3');
    expect(logger.lines.slice(before).filter((line) => line.message.startsWith('TLS'))).toEqual([]);
  });
});

test('a flood of failed handshakes costs a few lines and one summary with counts', async () => {
  const logger = recordingLogger();
  const server = await startTestServer({ libraryDir: '', workerThreads: 0, tls: { cert: pki.server.cert, key: pki.server.key } }, { logger }, { tls: { ca: pki.ca.cert } });
  const port = Number(server.address.split(':')[1]);
  try {
    for (let i = 0; i < 12; i++) await plaintextAttempt(port);
    for (let i = 0; i < 3; i++) await tlsAttempt(port, { rejectUnauthorized: false, minVersion: 'TLSv1', maxVersion: 'TLSv1.1' });
    await until(() => logger.lines.filter((line) => line.message.startsWith('TLS handshake failed from')).length >= 5, 'five lines');
  } finally {
    await server.close(); // writes the summary of what was only counted
  }
  const tls = logger.lines.filter((line) => line.message.startsWith('TLS handshake'));
  expect(tls.filter((line) => line.message.startsWith('TLS handshake failed from'))).toHaveLength(5);
  expect(tls.at(-1)!.message).toBe('TLS handshakes failed: 10 more in the last 10 s (7× ERR_SSL_WRONG_VERSION_NUMBER; 3× ERR_SSL_UNSUPPORTED_PROTOCOL)');
  expect(tls).toHaveLength(6);
});

test('RateLimitedLog: a burst per interval, then one summary when the interval ends; a new interval starts afresh', () => {
  jest.useFakeTimers();
  try {
    let now = 0;
    const logger = recordingLogger();
    const log = new RateLimitedLog({ logger, level: 'warn', burst: 2, intervalMs: 1000, summary: 'things failed', now: () => now });
    for (let i = 0; i < 5; i++) log.report(i % 2 ? 'odd' : 'even', `failure ${i}`);
    expect(logger.lines.map((line) => line.message)).toEqual(['failure 0', 'failure 1']);
    now = 1000;
    jest.advanceTimersByTime(1000);
    expect(logger.lines.at(-1)).toEqual({ level: 'warn', message: 'things failed: 3 more in the last 1 s (2× even; 1× odd)', meta: { suppressed: 3 } });
    log.report('even', 'failure 5');
    expect(logger.lines.at(-1)!.message).toBe('failure 5');
    log.flush();
    expect(logger.lines).toHaveLength(4);
  } finally {
    jest.useRealTimers();
  }
});

describe('the typed client over TLS to an IP address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ libraryDir: '', workerThreads: 0, tls: { cert: pki.server.cert, key: pki.server.key } }, {}, { tls: { ca: pki.ca.cert } });
  });
  afterAll(() => server.close());

  /** Runs `code` in a fresh Node (a deprecation warning is printed once per process). */
  const inFreshNode = (code: string) => run(process.execPath, ['-e', code], { cwd: ROOT });
  const call = (connect: string) => `
    const { toAny } = require('./dist/src/args/encode-arg');
    ${connect}
    client.submitTask({ method: 'add', args: [toAny(20), toAny(22)] }).then((res) => { console.log(res.result); close(); }, (err) => { console.error(String(err)); close(); process.exitCode = 1; });`;

  test('connects without DEP0123 (and grpc-js alone would warn)', async () => {
    const ours = await inFreshNode(call(`
      const { createTaskSchedulerClient } = require('./dist/src/client/create-client');
      const { client, close } = createTaskSchedulerClient(${JSON.stringify(server.address)}, { tls: { ca: ${JSON.stringify(pki.ca.cert)} } });`));
    expect(ours).toEqual({ status: 0, stdout: '42\n', stderr: '' });
    // The same call through nice-grpc and grpc-js's createSsl directly: the warning this avoids.
    const plain = await inFreshNode(call(`
      const { ChannelCredentials, createChannel, createClient } = require('nice-grpc');
      const { TaskSchedulerDefinition } = require('./dist/generated/taskscheduler/task_scheduler');
      const channel = createChannel(${JSON.stringify(server.address)}, ChannelCredentials.createSsl(require('fs').readFileSync(${JSON.stringify(pki.ca.cert)})));
      const client = createClient(TaskSchedulerDefinition, channel);
      const close = () => channel.close();`));
    expect(plain.stdout).toBe('42\n');
    expect(plain.stderr).toContain('DEP0123');
  });

  test('the certificate must still name the address: 127.0.0.2 is refused (the certificate says IP:127.0.0.1)', async () => {
    const app = buildApp({ libraryDir: '', workerThreads: 0, tls: { cert: pki.server.cert, key: pki.server.key } }, { registry: createBuiltinRegistry() });
    const { grpc } = await app.start('127.0.0.2:0');
    const { client, close } = createTaskSchedulerClient(grpc, { tls: { ca: pki.ca.cert } });
    try {
      const err = await expectGrpcError(client.submitTask({ method: 'add', args: [toAny(1)] }, { signal: AbortSignal.timeout(20_000) }));
      expect(err.code).toBe(Status.UNAVAILABLE);
      expect(err.details).toMatch(/127\.0\.0\.2.*not in the cert's list|IP: 127\.0\.0\.2/);
    } finally {
      close();
      await app.close();
    }
  });

  test('reverse-DNS names stand in for IP addresses', () => {
    expect(reverseDnsName('127.0.0.1')).toBe('1.0.0.127.in-addr.arpa');
    expect(reverseDnsName('::1')).toBe(`1.${'0.'.repeat(31)}ip6.arpa`);
    expect(reverseDnsName('2001:db8::1')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
    expect(reverseDnsName('::ffff:192.0.2.1')).toBe(reverseDnsName('::ffff:c000:201'));
  });
});
