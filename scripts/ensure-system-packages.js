#!/usr/bin/env node
/**
 * Makes sure the system programs the tests (or the bench) need are installed, installing the missing
 * ones from Debian's packages with apt-get — once: a program already on PATH costs one lookup.
 *
 *   node scripts/ensure-system-packages.js redis-server=redis-server chromium=chromium
 *
 * Each argument is `<command>=<debian package>`. apt-get's own output goes to a log file, not the
 * terminal; one line says what is being installed. When it cannot install (not root and no sudo, no
 * apt-get, no network), it prints what to run by hand and exits 1, so `npm test` stops with that
 * message instead of failing dozens of tests one by one.
 */
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** Whether `command` is an executable on PATH. */
function onPath(command) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      fs.accessSync(path.join(dir, command), fs.constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/**
 * Installs the Debian packages of the commands missing from PATH. `wanted` is a list of
 * `{ command, pkg }`. Returns normally when every command is present afterwards; throws an Error whose
 * message says what to run by hand otherwise. `log` gets one line per step.
 */
function ensureSystemPackages(wanted, log = (line) => process.stderr.write(`${line}\n`)) {
  const missing = wanted.filter(({ command }) => !onPath(command));
  if (missing.length === 0) return;
  const pkgs = [...new Set(missing.map(({ pkg }) => pkg))];
  const byHand = `apt-get update && apt-get install -y ${pkgs.join(' ')}`;
  const commands = missing.map(({ command }) => command).join(', ');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const sudo = isRoot ? [] : onPath('sudo') ? ['sudo', '-n'] : undefined;
  if (!onPath('apt-get') || sudo === undefined) {
    throw new Error(
      `${commands} not found, and this machine cannot install ${pkgs.join(', ')} by itself (${onPath('apt-get') ? 'not root and no sudo' : 'no apt-get'}).\n` +
        `Install ${pkgs.length > 1 ? 'them' : 'it'} yourself (Debian/Ubuntu: \`sudo ${byHand}\`) and run the command again.`,
    );
  }
  const logFile = path.join(os.tmpdir(), `task-scheduler-apt-${process.pid}.log`);
  log(`${commands} not found: installing Debian's ${pkgs.join(' ')} (apt-get output in ${logFile})…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    const out = fs.openSync(logFile, 'a');
    try {
      const result = spawnSync(sudo[0] ?? args[0], [...sudo.slice(1), ...(sudo.length ? args : args.slice(1))], { stdio: ['ignore', out, out], env });
      return result.error ? result.error.message : result.status === 0 ? undefined : `exit code ${String(result.status)}`;
    } finally {
      fs.closeSync(out);
    }
  };
  const install = ['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...pkgs];
  // The package lists may be current already (a later run on the same machine): update only if needed.
  let failed = run(install);
  if (failed) failed = run(['apt-get', 'update', '-q']) ?? run(install);
  const still = missing.filter(({ command }) => !onPath(command)).map(({ command }) => command);
  if (failed || still.length > 0) {
    throw new Error(
      `installing ${pkgs.join(' ')} failed (${failed ?? `${still.join(', ')} still not on PATH`}; see ${logFile}).\n` +
        `Install ${pkgs.length > 1 ? 'them' : 'it'} yourself (Debian/Ubuntu: \`${byHand}\`) and run the command again.`,
    );
  }
  log(`installed ${pkgs.join(' ')}`);
}

module.exports = { ensureSystemPackages, onPath };

if (require.main === module) {
  const wanted = process.argv.slice(2).map((spec) => {
    const [command, pkg] = spec.split('=');
    if (!command || !pkg) {
      process.stderr.write(`ensure-system-packages: expected <command>=<package>, got '${spec}'\n`);
      process.exit(2);
    }
    return { command, pkg };
  });
  try {
    ensureSystemPackages(wanted, (line) => process.stderr.write(`ensure-system-packages: ${line}\n`));
  } catch (err) {
    process.stderr.write(`ensure-system-packages: ${err.message}\n`);
    process.exit(1);
  }
}
