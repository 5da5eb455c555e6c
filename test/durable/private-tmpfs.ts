/**
 * A small tmpfs for a test to fill, mounted in a private mount namespace so that it needs neither root
 * nor cleanup: `unshare --map-root-user --mount` (a user namespace makes the mount allowed for an
 * ordinary user too) starts a holder process that mounts it and sleeps. Servers run inside that
 * namespace through `nsenter` (see {@link PrivateTmpfs.prefix}); the test reaches the same files from
 * outside through `/proc/<holder>/root`. Everything disappears with the holder.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';

export interface PrivateTmpfs {
  /** The mount point, as the servers inside the namespace see it. */
  readonly dir: string;
  /** The mount table inside the namespace (`/proc/<holder>/mounts`). */
  mounts(): string;
  /** Arguments for `startCli`'s `prefix`: runs the CLI inside the namespace. */
  readonly prefix: readonly string[];
  /** The path outside the namespace of `inside` (a path under {@link dir}). */
  outside(inside: string): string;
  /** Writes a file of zeros until the tmpfs is full; returns its size in bytes. */
  fill(name: string): number;
  /** Removes a file written by {@link fill}. */
  free(name: string): void;
  /** Ends the holder (the mount goes with the last process in the namespace). */
  close(): Promise<void>;
}

/**
 * Mounts a tmpfs of `sizeKb` over `dir` (an existing empty directory) in a new private mount namespace.
 * Rejects — with what to do about it — when this machine does not allow it: a test that needs a full
 * disk must fail, not pass without having filled one.
 */
export function mountPrivateTmpfs(dir: string, sizeKb: number): Promise<PrivateTmpfs> {
  const holder = spawn('unshare', ['--map-root-user', '--mount', '--propagation', 'private', 'sh', '-c',
    'mount -t tmpfs -o "size=$1k" tmpfs "$2" && echo mounted && exec sleep 3600', 'sh', String(sizeKb), dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  holder.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  holder.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      holder.kill('SIGKILL');
      reject(new Error(
        `cannot mount a ${sizeKb} KiB tmpfs in a private mount namespace (needed to fill a disk): ${why}. ` +
          'Run as root, or allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, ' +
          'user.max_user_namespaces > 0, kernel.apparmor_restrict_unprivileged_userns=0), and install util-linux (unshare, nsenter).',
      ));
    };
    const timer = setTimeout(() => fail('no answer within 10 s'), 10_000);
    holder.on('error', (err) => {
      clearTimeout(timer);
      fail(err.message);
    });
    holder.on('exit', (code, signal) => {
      clearTimeout(timer);
      fail(`unshare exited (${code ?? signal}): ${output.trim() || 'no output'}`);
    });
    holder.stdout!.on('data', () => {
      if (!output.includes('mounted')) return;
      clearTimeout(timer);
      holder.removeAllListeners('exit');
      const root = `/proc/${holder.pid}/root`;
      const outside = (inside: string) => `${root}${inside}`;
      resolve({
        dir,
        mounts: () => readFileSync(`/proc/${holder.pid}/mounts`, 'utf8'),
        prefix: ['nsenter', `--target=${holder.pid}`, '--mount', '--user', '--preserve-credentials'],
        outside,
        fill(name) {
          const fd = openSync(outside(`${dir}/${name}`), 'w');
          let bytes = 0;
          try {
            for (const chunk of [Buffer.alloc(64 * 1024), Buffer.alloc(4096), Buffer.alloc(512)]) {
              for (;;) {
                try {
                  bytes += writeSync(fd, chunk);
                } catch (err) {
                  if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
                  break;
                }
              }
            }
          } finally {
            closeSync(fd);
          }
          return bytes;
        },
        free(name) {
          rmSync(outside(`${dir}/${name}`));
        },
        close: () => stop(holder),
      });
    });
  });
}

function stop(holder: ChildProcess): Promise<void> {
  if (holder.exitCode !== null || holder.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    holder.once('exit', () => resolve());
    holder.kill('SIGKILL');
  });
}
