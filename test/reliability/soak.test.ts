/**
 * The soak engine (reliability/soak.ts) for a few seconds against the real CLI, so `npm test` keeps it
 * working; CI also runs `npm run soak -- --seconds 30` after the tests.
 */
import { OPS, soak } from '../../reliability/soak';
import { killCli, startCli, type CliProcess } from '../helpers/cli';

jest.setTimeout(90_000);
let cli: CliProcess | undefined;
afterAll(() => killCli(cli));

test('8 clients for 6 s: every operation kind ran, every promised result verified, none lost or mixed', async () => {
  cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '--result-ttl-secs', '0']);
  const report = await soak({ address: cli.address, durationMs: 6000, seed: 7, clients: 8, pid: cli.child.pid!, sampleMs: 2000 });
  expect(report.errorSamples).toEqual([]);
  expect({ errors: report.errors, lost: report.lost, mixed: report.mixed }).toEqual({ errors: 0, lost: 0, mixed: 0 });
  for (const op of OPS) expect({ op, ran: report.ops[op] > 0 }).toEqual({ op, ran: true });
  expect(report.verified).toBeGreaterThan(report.ops.blocking);
  expect(report.samples.length).toBeGreaterThanOrEqual(3);
  expect(report.samples.every((s) => s.rss > 0)).toBe(true);
  expect(await cli.stop()).toBe(0);
});
