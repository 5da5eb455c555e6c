/**
 * Black-box fuzz of the real CLI process over HTTP/2 (reliability/server-fuzz.ts), seeded and short:
 * random and byte-mutated TaskRequests and malformed gRPC framing. Every reply is a response, a SPEC §4
 * status or grpc-js's answer to broken framing; nothing hangs; the server is SERVING afterwards and
 * answers a real call; its memory settles (the store is bounded to 20 000 results, so RSS must level
 * off). `npm run fuzz -- --minutes N` runs the same longer.
 */
import { toAny } from '../../src/args/encode-arg';
import { createTaskSchedulerClient } from '../../src/client/create-client';
import { rssOf as rss } from '../../reliability/run-options';
import { fuzzServer, healthServing } from '../../reliability/server-fuzz';
import { killCli, startCli, type CliProcess } from '../helpers/cli';

jest.setTimeout(120_000);
const seed = Number(process.env['FUZZ_SEED'] ?? 20261126);
const seconds = Number(process.env['FUZZ_SECONDS'] ?? 15);

let cli: CliProcess | undefined;
afterAll(() => killCli(cli));

test(`${seconds} s of black-box fuzzing (seed ${seed}): no violation, no hang, still serving, memory settles`, async () => {
  cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '--worker-threads', '2', '--worker-max-memory-mb', '128', '--max-results', '20000']);
  const pid = cli.child.pid!;
  const samples: number[] = [];
  const report = await fuzzServer({ address: cli.address, seed, durationMs: seconds * 1000, onTick: () => samples.push(rss(pid)) });
  // eslint-disable-next-line no-console
  console.log(JSON.stringify({ cases: report.cases, byClass: report.byClass, byReply: report.byReply, byKind: report.byKind, rssMb: samples.map((b) => Math.round(b / 2 ** 20)) }));
  expect(report.violations).toEqual([]);
  expect(report.cases).toBeGreaterThan(200);
  // Every class of input was tried, and both sides of the service answered.
  expect(report.byKind['request']).toBeGreaterThan(0);
  expect(report.byKind['mutated']).toBeGreaterThan(0);
  expect(Object.keys(report.byKind).filter((k) => k.startsWith('framing: ')).length).toBeGreaterThanOrEqual(10);
  expect(report.byReply['OK']).toBeGreaterThan(0);
  expect(report.byReply['INVALID_ARGUMENT (spec)']).toBeGreaterThan(0);
  expect(report.byClass['transport']).toBeGreaterThan(0);

  expect(await healthServing(cli.address)).toBe(true);
  const { client, close } = createTaskSchedulerClient(cli.address);
  try {
    expect((await client.submitTask({ method: 'add', args: [toAny(40), toAny(2)] })).result).toBe('42');
  } finally {
    close();
  }
  // Memory settles: once the fuzz stops, RSS stops growing (within 10 % over 3 s) and stays bounded.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const settled = rss(pid);
  await new Promise((resolve) => setTimeout(resolve, 3000));
  const later = rss(pid);
  expect(later).toBeLessThan(settled * 1.1);
  expect(later).toBeLessThan(600 * 2 ** 20);
  expect(await cli.stop()).toBe(0);
});
