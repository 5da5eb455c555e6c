/**
 * grpc-js's own log lines go through our logger: a request whose `authorization` value grpc-js cannot
 * take as metadata (a tab before the token) never puts the token on stderr or in the log file, and a
 * flood of such requests collapses into a few lines and a summary.
 */
import http2 from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sanitizeGrpcLogLine } from '../../src/logging/grpc-log-router';
import { killCli, startCli, type CliProcess } from '../helpers/cli';

jest.setTimeout(60_000);

const TOKEN = 'V4lid-Token-0123456789';

/** Sends SubmitTask over plain HTTP/2 with `authorization` set to `value` (which grpc-js's own client would refuse to send); resolves with grpc-status. */
function rawCall(session: http2.ClientHttp2Session, authorization: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': '/taskscheduler.TaskScheduler/SubmitTask',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization,
    });
    let status = '';
    stream.on('response', (headers) => {
      if (headers['grpc-status'] !== undefined) status = String(headers['grpc-status']);
    });
    stream.on('trailers', (trailers) => {
      status = String(trailers['grpc-status']);
    });
    stream.on('error', reject);
    stream.on('close', () => resolve(status));
    stream.resume();
    stream.end(Buffer.from([0, 0, 0, 0, 0])); // one empty message
  });
}

test('the grpc-js metadata line keeps the key and drops the value (twice in it), and credentials anywhere are redacted', () => {
  const line = `Failed to add metadata entry authorization: Bearer\t${TOKEN}. Metadata string value "Bearer\t${TOKEN}" contains illegal characters. For more information see https://github.com/grpc/grpc-node/issues/1173`;
  const safe = sanitizeGrpcLogLine(line);
  expect(safe).toBe('Failed to add metadata entry authorization: the value is withheld; it contains characters metadata may not hold (e.g. a tab or non-ASCII); the request goes on without it');
  expect(sanitizeGrpcLogLine(`some error with ${TOKEN} inside`, [TOKEN])).toBe('some error with [redacted] inside');
  expect(sanitizeGrpcLogLine('header Authorization: Bearer\tabc.def and token=xyz')).toBe('header Authorization: [redacted] [redacted] and token=[redacted]');
  expect(sanitizeGrpcLogLine('sent bearer abc.def')).toBe('sent bearer [redacted]');
  const long = sanitizeGrpcLogLine('x'.repeat(100_000));
  expect(long.length).toBeLessThanOrEqual(401);
  expect(sanitizeGrpcLogLine('line\nbreak\u001b[31m')).toBe('line\\u000abreak\\u001b[31m');
});

describe('the real CLI with a token', () => {
  let dir: string;
  let cli: CliProcess | undefined;
  let logFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'ts-grpc-logs-'));
    logFile = path.join(dir, 'server.log');
    cli = await startCli(['-a', '127.0.0.1:0', '-l', '', '--worker-threads', '0', '--log-file', logFile], { env: { TASK_SCHEDULER_AUTH_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await killCli(cli);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a valid token after a tab never reaches stderr or the log file in clear; a flood is collapsed', async () => {
    const session = http2.connect(`http://${cli!.address}`);
    try {
      // Unauthenticated: grpc-js dropped the header, so the call carries no token at all.
      expect(await rawCall(session, `Bearer\t${TOKEN}`)).toBe('16');
      for (let round = 0; round < 10; round++) {
        await Promise.all(Array.from({ length: 30 }, () => rawCall(session, `Bearer\t${TOKEN}`)));
      }
    } finally {
      session.close();
    }
    await cli!.waitFor(/Failed to add metadata entry authorization: the value is withheld/);
    expect(await cli!.stop()).toBe(0); // flushes the summary, closes the file
    const output = cli!.output();
    const file = readFileSync(logFile, 'utf8');
    for (const text of [output, file]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toMatch(/^E /m); // grpc-js's default logger printed straight to stderr
    }
    const lines = file.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const metadataLines = lines.filter((line) => String(line['message']).startsWith('Failed to add metadata entry authorization'));
    expect(metadataLines.length).toBe(5); // 301 requests, 5 lines…
    expect(metadataLines[0]).toMatchObject({ level: 'warn', component: 'grpc-js' });
    const summary = lines.filter((line) => String(line['message']).startsWith('grpc-js: lines collapsed: '));
    expect(summary).toHaveLength(1); // …and one summary counting the rest
    expect(summary[0]!['message']).toMatch(/^grpc-js: lines collapsed: 296 more in the last 10 s \(296× Failed to add metadata entry authorization\)$/);
  });
});
