/**
 * `npm run abuse`: the probes of issue 19 against the real CLI on loopback, one fresh server each, a few
 * minutes in all. Per probe: the server's peak RSS, whether it kept serving (a new client's `add` right
 * after, and the server still alive), and the p99 `add` latency a well-behaved client saw during it.
 * Exits 1 when a server died, stopped answering, or passed the RSS bound.
 *
 *   npm run abuse [-- --only 2,5] [--cli path/to/main.js] [--rss-bound-mb 1536] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROBES, EMPTY_TOKEN_PROBE_ID } from './probes';
import { answers, observe } from './observer';
import { startServer } from './server';

interface Row {
  readonly id: string;
  readonly title: string;
  readonly peakRssMb: number;
  readonly served: boolean;
  readonly died: boolean;
  readonly overBound: boolean;
  readonly p99Ms: number;
  readonly failedCalls: string;
  readonly owner: string;
  readonly detail: string;
}

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const cli = path.resolve(flag('cli') ?? 'dist/src/cli/main.js');
const rssBound = Number(flag('rss-bound-mb') ?? 1536) * 1024 * 1024;
const only = flag('only')?.split(',');
const mb = (bytes: number) => Math.round(bytes / (1024 * 1024));

async function runProbe(probe: (typeof PROBES)[number]): Promise<Row> {
  const token = probe.token;
  const server = await startServer(cli, token ? ['--auth-token', token] : probe.args ?? []);
  let overBound = false;
  server.onRssOver(rssBound, () => {
    overBound = true;
  });
  const observer = observe(server.grpc, token);
  const ends = Date.now() + probe.seconds * 1000;
  const over = () => Date.now() > ends || overBound || server.exited() !== undefined;
  let detail: string;
  try {
    detail = await probe.run({ server, over, ...(token ? { token } : {}) });
  } catch (err) {
    detail = `probe error: ${err instanceof Error ? err.message : String(err)}`;
  }
  const seen = await observer.stop();
  // Serving = alive and a new client is answered once the abuser let go (within 5 s, two tries).
  const served = server.exited() === undefined && ((await answers(server.grpc, token)) || (await answers(server.grpc, token)));
  const died = server.exited() !== undefined;
  const row: Row = {
    id: probe.id,
    title: probe.title,
    peakRssMb: mb(server.peakRss()),
    served,
    died,
    overBound,
    p99Ms: Math.round(seen.p99Ms),
    failedCalls: `${seen.failures}/${seen.calls}`,
    owner: probe.owner ?? '',
    detail: died ? `server exited (${String(server.exited())}); ${detail}; last output: ${server.stderrText().slice(-300)}` : detail,
  };
  await server.stop();
  return row;
}

async function emptyTokenProbe(): Promise<Row> {
  const outcomes: string[] = [];
  let served = true;
  for (const [how, args, env] of [
    ['--auth-token \'\'', ['--auth-token', ''], {}],
    ['TASK_SCHEDULER_AUTH_TOKEN=""', [], { TASK_SCHEDULER_AUTH_TOKEN: '' }],
  ] as const) {
    try {
      const server = await startServer(cli, args, env);
      const open = await answers(server.grpc);
      outcomes.push(`${how}: started, ${open ? 'auth OFF (a call without a token is answered: fails open)' : 'calls refused'}`);
      await server.stop();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      outcomes.push(`${how}: refused to start (${/exited \(([^)]*)\)/.exec(message)?.[1] ?? 'error'})`);
    }
  }
  served = true;
  return { id: EMPTY_TOKEN_PROBE_ID, title: 'empty token', peakRssMb: 0, served, died: false, overBound: false, p99Ms: 0, failedCalls: '-', owner: 'hardening-misc', detail: outcomes.join('; ') };
}

async function main(): Promise<void> {
  console.log(`abuse run: ${cli}, RSS bound ${mb(rssBound)} MiB, node ${process.version}`);
  const rows: Row[] = [];
  for (const probe of PROBES) {
    if (only && !only.includes(probe.id)) continue;
    const started = Date.now();
    const row = await runProbe(probe);
    rows.push(row);
    console.log(`probe ${row.id} (${row.title}) ${((Date.now() - started) / 1000).toFixed(0)} s: peak RSS ${row.peakRssMb} MiB${row.overBound ? ' (OVER BOUND, stopped)' : ''}, ${row.died ? 'DIED' : row.served ? 'kept serving' : 'STOPPED ANSWERING'}, add p99 ${row.p99Ms} ms (${row.failedCalls} failed)\n    ${row.detail}`);
  }
  if (!only || only.includes(EMPTY_TOKEN_PROBE_ID)) {
    const row = await emptyTokenProbe();
    rows.push(row);
    console.log(`probe 8 (empty token): ${row.detail}`);
  }
  console.log('\n| probe | peak RSS | kept serving | add p99 (failed) | owner | outcome |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) {
    const serving = row.died ? 'died' : row.served ? 'yes' : 'NO';
    console.log(`| ${row.id} ${row.title} | ${row.peakRssMb} MiB${row.overBound ? ' (over bound)' : ''} | ${serving} | ${row.p99Ms} ms (${row.failedCalls}) | ${row.owner} | ${row.detail.replace(/\|/g, '/').slice(0, 400)} |`);
  }
  const json = flag('json');
  if (json) writeFileSync(json, JSON.stringify({ cli, rssBoundMb: mb(rssBound), rows }, null, 2));
  const bad = rows.filter((row) => row.died || !row.served || row.overBound);
  if (bad.length > 0) {
    console.log(`\nFAILED: ${bad.map((row) => row.id).join(', ')} (died, stopped answering, or RSS over ${mb(rssBound)} MiB)`);
    process.exitCode = 1;
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 2;
});
