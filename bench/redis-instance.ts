/**
 * A private redis-server for the bench (Debian's `redis-server`, which .ci/run installs): a free
 * loopback port, a temporary directory, no persistence; started through the process runner so it is
 * killed with the bench.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './servers';
import { startProcess, type RunningProcess } from './process-runner';

/** A running redis-server. */
export interface RedisInstance {
  readonly url: string;
  readonly command: string;
  /**
   * Commands Redis has processed so far: all of them (INFO stats, commands run inside scripts
   * included) and the top-level calls that are not scripts' inner commands, i.e. EVALSHA/EVAL calls
   * plus everything else called directly (GET, PUBLISH…) — what the replicas sent, one round trip each
   * at most (auto-pipelining shares round trips).
   */
  counters(): Promise<{ commands: number; scripts: number }>;
  stop(): Promise<void>;
}

/** Starts redis-server in `workDir`; throws a clear error when it is not installed. */
export async function startRedisInstance(workDir: string): Promise<RedisInstance> {
  if (spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).status !== 0) {
    throw new Error('redis-server is not installed (apt-get install -y redis-server; .ci/run does it)');
  }
  const port = await freePort();
  const dir = mkdtempSync(path.join(workDir, 'redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
  const proc: RunningProcess = startProcess('redis-server', 'redis-server', args);
  await proc.waitForOutput(/Ready to accept connections/, 10_000);
  const url = `redis://127.0.0.1:${port}`;
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await admin.connect();
  return {
    url,
    command: `redis-server ${args.map((arg) => (arg === '' ? "''" : arg)).join(' ')}`,
    async counters() {
      const stats = await admin.info('stats');
      const match = /total_commands_processed:(\d+)/.exec(stats);
      if (!match) throw new Error('INFO stats has no total_commands_processed');
      const commandstats = await admin.info('commandstats');
      let scripts = 0;
      for (const [, name, calls] of commandstats.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) {
        if (name === 'evalsha' || name === 'eval') scripts += Number(calls);
      }
      return { commands: Number(match[1]), scripts };
    },
    async stop() {
      admin.disconnect();
      await proc.stop(5_000);
    },
  };
}
