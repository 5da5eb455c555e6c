/**
 * `npm run fuzz -- --minutes N [--seed S]`: the decoder properties for a third of the time, then the
 * black-box fuzzer against the real CLI (loopback, port 0) for the rest; prints the counts as markdown
 * tables. Exit code 1 on any property failure, violation or hang, or if the server is not SERVING
 * afterwards.
 */
import { startCli } from '../test/helpers/cli';
import { runDecoderProperties } from './decoder-properties';
import { mb, parseRunOptions, rssOf, table } from './run-options';
import { fuzzServer, healthServing } from './server-fuzz';

async function main(): Promise<number> {
  const { durationMs, seed } = parseRunOptions(process.argv.slice(2), { durationMs: 60_000, seed: Date.now() % 1_000_000 }, 'npm run fuzz -- [--minutes N | --seconds N] [--seed S]');
  process.stdout.write(`fuzz: ${durationMs / 1000} s, seed ${seed} (replay: npm run fuzz -- --seconds ${durationMs / 1000} --seed ${seed})\n\n`);
  const propertyMs = Math.round(durationMs / 3);
  const properties = runDecoderProperties({ seed, timeLimitMs: Math.max(1000, Math.round(propertyMs / 6)) });
  process.stdout.write(`## Decoder properties (fast-check)\n\n${table(['property', 'cases', 'accepted', 'rejected'], properties.map((p) => [p.name, p.cases, p.accepted, p.rejected]))}\n\n`);

  const cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '--worker-threads', '2', '--worker-max-memory-mb', '128', '--max-results', '20000']);
  const pid = cli.child.pid!;
  const samples: Array<[number, number, number]> = [];
  const started = Date.now();
  const report = await fuzzServer({
    address: cli.address,
    seed,
    durationMs: durationMs - propertyMs,
    onTick: (cases) => {
      const s = Math.round((Date.now() - started) / 1000);
      if (samples.length === 0 || s - samples[samples.length - 1]![0] >= Math.max(1, Math.round((durationMs - propertyMs) / 10_000))) samples.push([s, cases, rssOf(pid)]);
    },
  });
  const serving = await healthServing(cli.address);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const settled = rssOf(pid);
  const exit = await cli.stop();
  process.stdout.write(`## Server fuzz (${report.cases} cases)\n\n`);
  process.stdout.write(`${table(['case kind', 'count'], Object.entries(report.byKind).sort((a, b) => b[1] - a[1]))}\n\n`);
  process.stdout.write(`${table(['reply', 'count'], Object.entries(report.byReply).sort((a, b) => b[1] - a[1]))}\n\n`);
  process.stdout.write(`${table(['class', 'count'], Object.entries(report.byClass))}\n\n`);
  process.stdout.write(`${table(['s', 'cases', 'server RSS MB'], samples.map(([s, c, r]) => [s, c, mb(r)]))}\n\n`);
  process.stdout.write(`after: SERVING ${serving}, RSS 2 s after the run ${mb(settled)} MB, exit code ${exit}\n`);
  process.stdout.write(`violations: ${report.violationCount}${report.violations.length ? `\n  ${report.violations.join('\n  ')}` : ''}\n`);
  return report.violationCount === 0 && serving && exit === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`fuzz failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
