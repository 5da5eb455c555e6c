/**
 * TLS and mutual TLS (SPEC §6 `--tls-cert`/`--tls-key`/`--tls-ca-cert`) with throwaway certificates
 * made by openssl: real handshakes through grpc-js, the CLI's checks of the flags, and buf curl over
 * https with a client certificate.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient, type ClientOptions } from '../../src/client/create-client';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError, startTestServer, Status, type ClientError, type TestServer } from '../helpers/start-server';
import { createTestPki, type TestPki } from './certificates';
import { bufCurl, runCli, startCli } from './processes';

jest.setTimeout(90_000);

let dir: string;
let pki: TestPki;
let tlsServer: TestServer;
let mtlsServer: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'ts-eco-tls-'));
  pki = await createTestPki(dir);
  const base = { libraryDir: '', workerThreads: 0 };
  tlsServer = await startTestServer({ ...base, tls: { cert: pki.server.cert, key: pki.server.key } }, {}, { tls: { ca: pki.ca.cert } });
  mtlsServer = await startTestServer(
    { ...base, tls: { cert: pki.server.cert, key: pki.server.key, caCert: pki.ca.cert } },
    {},
    { tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } },
  );
});
afterAll(async () => {
  await Promise.allSettled([tlsServer?.close(), mtlsServer?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const addRequest = { method: 'add', args: [toAny(1), toAny(2)] };

/** `add(1, 2)` through a fresh connection; its own channel, so no state leaks between cases. */
async function addOver(address: string, options: ClientOptions): Promise<string> {
  const { client, close } = createTaskSchedulerClient(address, options);
  try {
    const res = await client.submitTask(addRequest, { signal: AbortSignal.timeout(30_000) });
    expect(res.status).toBe(TaskResponse_Status.SUCCESS);
    return res.result;
  } finally {
    close();
  }
}

/** The gRPC error `add(1, 2)` gets through a fresh connection (an abort after 30 s is not one). */
async function refusedOver(address: string, options: ClientOptions): Promise<ClientError> {
  const { client, close } = createTaskSchedulerClient(address, options);
  try {
    return await expectGrpcError(client.submitTask(addRequest, { signal: AbortSignal.timeout(30_000) }));
  } finally {
    close();
  }
}

describe('TLS (server certificate only)', () => {
  test('a client trusting the CA gets add → 3 (PEM paths or PEM text)', async () => {
    expect((await tlsServer.client.submitTask(addRequest)).result).toBe('3');
    expect(await addOver(tlsServer.address, { tls: { ca: pki.ca.cert } })).toBe('3');
    expect(await addOver(tlsServer.address, { tls: { ca: readFileSync(pki.ca.cert, 'utf8') } })).toBe('3');
  });

  test('the certificate also matches the name localhost (subjectAltName DNS)', async () => {
    const port = tlsServer.address.split(':').pop()!;
    expect(await addOver(`localhost:${port}`, { tls: { ca: pki.ca.cert } })).toBe('3');
  });

  test('a plaintext client is refused with UNAVAILABLE', async () => {
    const err = await refusedOver(tlsServer.address, {});
    expect(err.code).toBe(Status.UNAVAILABLE);
  });

  test('a client trusting another CA is refused with UNAVAILABLE', async () => {
    const err = await refusedOver(tlsServer.address, { tls: { ca: pki.otherCa.cert } });
    expect(err.code).toBe(Status.UNAVAILABLE);
  });
});

/** The protocol a raw TLS client pinned to `version` negotiates with `address`, or the handshake error. */
function handshake(address: string, version: SecureVersion): Promise<string> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve) => {
    // SECLEVEL=0 so that it is the server, not this client's OpenSSL policy, that refuses old versions.
    const socket = tlsConnect({ host, port, servername: 'localhost', ca: readFileSync(pki.ca.cert), minVersion: version, maxVersion: version, ciphers: 'DEFAULT:@SECLEVEL=0', ALPNProtocols: ['h2'] });
    socket.once('secureConnect', () => {
      resolve(`${socket.getProtocol()} ${String(socket.alpnProtocol)}`);
      socket.destroy();
    });
    socket.once('error', (err) => resolve(`refused: ${err.message}`));
  });
}

describe('TLS protocol versions', () => {
  test('TLS 1.3 and 1.2 handshake (ALPN h2); TLS 1.1 and 1.0 are refused by the server', async () => {
    expect(await handshake(tlsServer.address, 'TLSv1.3')).toBe('TLSv1.3 h2');
    expect(await handshake(tlsServer.address, 'TLSv1.2')).toBe('TLSv1.2 h2');
    expect(await handshake(tlsServer.address, 'TLSv1.1')).toMatch(/^refused: .*(protocol version|alert)/i);
    expect(await handshake(tlsServer.address, 'TLSv1')).toMatch(/^refused: .*(protocol version|alert)/i);
  });
});

describe('mutual TLS (caCert set)', () => {
  test('a client certificate signed by the CA works', async () => {
    expect((await mtlsServer.client.submitTask(addRequest)).result).toBe('3');
    expect(await addOver(mtlsServer.address, { tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } })).toBe('3');
  });

  test('a client without a certificate is refused', async () => {
    const err = await refusedOver(mtlsServer.address, { tls: { ca: pki.ca.cert } });
    expect(err.code).toBe(Status.UNAVAILABLE);
  });

  test('a client certificate from another CA is refused', async () => {
    const err = await refusedOver(mtlsServer.address, { tls: { ca: pki.ca.cert, cert: pki.otherClient.cert, key: pki.otherClient.key } });
    expect(err.code).toBe(Status.UNAVAILABLE);
  });

  test('a plaintext client is refused', async () => {
    const err = await refusedOver(mtlsServer.address, {});
    expect(err.code).toBe(Status.UNAVAILABLE);
  });

  test('refused handshakes do not hurt the server: a good client still works afterwards', async () => {
    await refusedOver(mtlsServer.address, { tls: { ca: pki.ca.cert } });
    expect(await addOver(mtlsServer.address, { tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } })).toBe('3');
  });
});

describe('CLI', () => {
  const quiet = ['--log-dir', '', '--library-dir', '', '--worker-threads', '0'];

  test('--tls-cert without --tls-key: exit code 2 and a clear message', async () => {
    const res = await runCli([...quiet, '--tls-cert', pki.server.cert]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('--tls-cert and --tls-key go together');
    expect(res.stderr).not.toMatch(/\n\s+at /);
  });

  test('--tls-key without --tls-cert: exit code 2', async () => {
    const res = await runCli([...quiet, '--tls-key', pki.server.key]);
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('--tls-cert and --tls-key go together');
  });

  test('--tls-ca-cert alone: exit code 2, explains that mTLS needs the server certificate', async () => {
    const res = await runCli([...quiet, '--tls-ca-cert', pki.ca.cert]);
    expect(res.status).toBe(2);
    expect(res.stderr).toMatch(/--tls-ca-cert needs --tls-cert and --tls-key/);
  });

  test.each(['--tls-cert', '--tls-key', '--tls-ca-cert'])('a missing %s file: non-zero exit, the message names the flag and path', async (flag) => {
    const missing = path.join(dir, 'no-such-file.pem');
    const files: Record<string, string> = { '--tls-cert': pki.server.cert, '--tls-key': pki.server.key, '--tls-ca-cert': pki.ca.cert };
    files[flag] = missing;
    const res = await runCli([...quiet, '-a', '127.0.0.1:0', ...Object.entries(files).flat()]);
    expect(res.status).not.toBe(0);
    expect(res.stdout + res.stderr).toContain(`${flag}: cannot read ${missing}`);
    expect(res.stdout + res.stderr).not.toContain('listening on');
  });

  test('the CLI serves mTLS: certified client and buf curl over https work, an uncertified client is refused', async () => {
    const cli = await startCli([...quiet, '-a', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-ca-cert', pki.ca.cert]);
    try {
      expect(cli.output()).toContain('"tls":"mtls"');
      expect(await addOver(cli.address, { tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key } })).toBe('3');
      expect((await refusedOver(cli.address, { tls: { ca: pki.ca.cert } })).code).toBe(Status.UNAVAILABLE);
      const body = JSON.stringify({ method: 'add', args: [1, 2, 3].map((value) => ({ '@type': 'type.googleapis.com/google.protobuf.Int32Value', value })) });
      const url = `https://${cli.address}/taskscheduler.TaskScheduler/SubmitTask`;
      const ok = await bufCurl(['--protocol', 'grpc', '--cacert', pki.ca.cert, '-E', pki.client.cert, '--key', pki.client.key, '-d', body, url], dir);
      expect(ok.stderr).toBe('');
      expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'SUCCESS', result: '6' });
      const noCert = await bufCurl(['--protocol', 'grpc', '--cacert', pki.ca.cert, '-d', body, url], dir);
      expect(noCert.status).not.toBe(0);
      expect(noCert.stdout).toBe('');
    } finally {
      expect(await cli.stop()).toBe(0);
    }
  });

  test('a certificate file that is not PEM: the server does not start, exit 2 naming --tls-cert', async () => {
    const garbage = path.join(dir, 'garbage.pem');
    writeFileSync(garbage, 'not a certificate\n');
    const res = await runCli([...quiet, '-a', '127.0.0.1:0', '--tls-cert', garbage, '--tls-key', pki.server.key]);
    expect(res.status).toBe(2);
    expect(res.stdout + res.stderr).toContain(`--tls-cert: ${garbage} holds no PEM certificate`);
    expect(res.stdout + res.stderr).not.toContain('listening on');
  });

  test('a key that does not belong to the certificate: exit 2 naming --tls-key', async () => {
    const res = await runCli([...quiet, '-a', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.client.key]);
    expect(res.status).toBe(2);
    expect(res.stdout + res.stderr).toContain(`--tls-key: ${pki.client.key} does not belong to the certificate`);
  });

  test('a CA file that is not a certificate: exit 2 naming --tls-ca-cert (not a server that refuses everyone)', async () => {
    const garbage = path.join(dir, 'garbage-ca.txt');
    writeFileSync(garbage, 'not a cert\n');
    const res = await runCli([...quiet, '-a', '127.0.0.1:0', '--tls-cert', pki.server.cert, '--tls-key', pki.server.key, '--tls-ca-cert', garbage]);
    expect(res.status).toBe(2);
    expect(res.stdout + res.stderr).toContain(`--tls-ca-cert: ${garbage} holds no PEM certificate`);
  });
});
