#!/usr/bin/env node
// Calibrates admission's byte estimate (`taskCharge`, src/engine/admission.ts) against real heap.
// For each argument shape it starts the built server (dist/, so run `npm run build` first) in a fresh
// node process with --expose-gc, submits N detached tasks of that shape over gRPC that all wait on a
// dependency that never finishes (so every one stays accepted and unfinished), and compares the heap
// they hold (heapUsed after full GCs, minus the baseline, / N) with what admission charged them
// (stats().unfinishedBytes / N). Heap figures are noisy: this is a measurement, not a test.
//
// Usage: npm run build && node scripts/measure-task-charge.js [--only shape,shape] [--scale 0.5]
'use strict';
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.resolve(__dirname, '..');

/**
 * The shapes: the task's arguments and dependencies, how many tasks to hold at once, and how they are
 * held — waiting for a dependency that never finishes (`deps`, the default: the costliest wait),
 * queued for the one concurrency slot (`slot`), or running (`running`, an async task that never ends).
 * `worst` marks shapes kept to show the estimate's known limits (not failures of the calibration).
 */
const SHAPES = {
  'ascii-3x1MiB': { n: 12, about: '3 × 1 MiB ASCII strings' },
  'non-latin1-1MiB': { n: 24, about: '1 MiB (UTF-8) of Cyrillic text' },
  'cjk-1MiB': { n: 24, about: '1 MiB (UTF-8) of CJK text' },
  'bytes-1MiB': { n: 24, about: '1 MiB of bytes' },
  'list-10k-int32': { n: 300, about: 'a list of 10,000 int32' },
  'map-5k-strings': { n: 300, about: 'a map of 5,000 short string entries (`key-123` → `value-123`)' },
  'map-5k-tiny': { n: 300, about: 'a map of 5,000 tiny string entries (`k123` → `v`)' },
  'small-mixed': { n: 3000, about: '4 scalars (int32, double, bool, 20-char string)' },
  'no-args': { n: 5000, about: 'no arguments' },
  'deps-1000x256': { n: 100, about: '1,000 deps of 256 characters (999 finished)' },
  'deps-1000x36': { n: 200, about: '1,000 deps of 36 characters (UUID-like, 999 finished)' },
  'no-args-queued': { n: 5000, state: 'slot', about: 'no arguments, no deps, queued for a slot' },
  'no-args-running': { n: 5000, state: 'running', about: 'no arguments, no deps, running (async)' },
  'list-10k-empty-maps': { n: 100, worst: true, about: 'a list of 10,000 empty maps (worst case)' },
};

function parseFlags(argv) {
  const flags = { only: undefined, scale: 1, shape: undefined };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--only') flags.only = argv[++i].split(',');
    else if (argv[i] === '--scale') flags.scale = Number(argv[++i]);
    else if (argv[i] === '--shape') flags.shape = argv[++i];
    else throw new Error(`unknown flag ${argv[i]}`);
  }
  return flags;
}

function main() {
  const flags = parseFlags(process.argv.slice(2));
  if (flags.shape) return measureInChild(flags.shape, Number(flags.scale));
  const names = flags.only ?? Object.keys(SHAPES);
  const rows = [];
  for (const name of names) {
    if (!SHAPES[name]) throw new Error(`unknown shape ${name} (known: ${Object.keys(SHAPES).join(', ')})`);
    // A fresh process per shape: one shape's garbage and caches cannot skew another's baseline.
    const out = execFileSync(process.execPath, ['--expose-gc', __filename, '--shape', name, '--scale', String(flags.scale)], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 20 });
    const row = JSON.parse(out.trim().split('\n').pop());
    rows.push(row);
    process.stderr.write(`${name}: ${JSON.stringify(row)}\n`);
  }
  console.log(`node ${process.version}, ${process.arch}, V8 pointer compression ${process.config.variables.v8_enable_pointer_compression ? 'on' : 'off'}\n`);
  console.log('| shape | tasks held | real heap / task | charge / task | charge ÷ real | external / task |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    console.log(`| ${SHAPES[row.shape].about} | ${row.n} | ${fmt(row.heapPerTask)} | ${fmt(row.chargePerTask)} | ${(row.chargePerTask / row.heapPerTask).toFixed(2)} | ${fmt(row.externalPerTask)} |`);
  }
  const under = rows.filter((row) => !SHAPES[row.shape].worst && row.chargePerTask < 0.9 * row.heapPerTask);
  if (under.length > 0) {
    console.log(`\nUNDERCOUNTED by more than 10 %: ${under.map((row) => row.shape).join(', ')}`);
    process.exitCode = 1;
  }
}

function fmt(bytes) {
  if (Math.abs(bytes) >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
  if (Math.abs(bytes) >= 10 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

/** Runs in the child: one shape, one server, prints one JSON line. */
async function measureInChild(shape, scale) {
  if (typeof global.gc !== 'function') throw new Error('run with node --expose-gc');
  const { buildApp, createBuiltinRegistry } = require(path.join(root, 'dist/src/app'));
  const { asyncTask } = require(path.join(root, 'dist/src/tasks/task-registry'));
  const { createTaskSchedulerClient } = require(path.join(root, 'dist/src/client/create-client'));
  const { encodeArg, toAny } = require(path.join(root, 'dist/src/args/encode-arg'));
  const { arg } = require(path.join(root, 'dist/src/args/arg-value'));

  const state = SHAPES[shape].state ?? 'deps';
  const registry = createBuiltinRegistry();
  // The dependency that never finishes (until it is cancelled); it also holds the slot (state `slot`).
  asyncTask(function never(_args, ctx) {
    return new Promise((_resolve, reject) => ctx.onAbort(reject));
  }, { registry });
  const app = buildApp({
    libraryDir: '',
    workerThreads: 0,
    maxUnfinishedBytes: 0,
    maxDependentTasks: 0,
    maxQueuedTasks: 0,
    maxConcurrentTasks: state === 'slot' ? 1 : 0,
    maxMessageBytes: 16 * 1024 * 1024,
    dependencyTimeoutMs: 3_600_000,
    stallWarnMs: 0,
    shutdownGraceMs: 0,
  }, { registry });
  const { grpc } = await app.start('127.0.0.1:0');
  const { client, close } = createTaskSchedulerClient(grpc, { channelOptions: { 'grpc.max_send_message_length': 16 * 1024 * 1024 } });

  const n = Math.max(2, Math.round(SHAPES[shape].n * scale));
  // Built once, before the baseline: the client holds one copy of the request for all submissions.
  let args = [];
  let deps = state === 'deps' ? ['root'] : [];
  await client.submitTask({ taskId: 'root', method: 'never', detached: true });
  await settle();
  switch (shape) {
    case 'ascii-3x1MiB':
      args = [0, 1, 2].map((i) => toAny(String.fromCharCode(97 + i).repeat(1024 * 1024)));
      break;
    case 'bytes-1MiB':
      args = [toAny(new Uint8Array(1024 * 1024).fill(7))];
      break;
    case 'non-latin1-1MiB':
      args = [toAny('ж'.repeat(512 * 1024))]; // 2 bytes each in UTF-8
      break;
    case 'cjk-1MiB':
      args = [toAny('漢'.repeat(Math.floor((1024 * 1024) / 3)))]; // 3 bytes each in UTF-8
      break;
    case 'list-10k-int32':
      args = [encodeArg(arg.list(Array.from({ length: 10_000 }, (_, i) => arg.int32(i * 7919))))];
      break;
    case 'map-5k-strings':
      args = [encodeArg(arg.map(Array.from({ length: 5_000 }, (_, i) => [`key-${i}`, arg.string(`value-${i}`)])))];
      break;
    case 'map-5k-tiny':
      args = [encodeArg(arg.map(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, arg.string('v')])))];
      break;
    case 'list-10k-empty-maps':
      args = [encodeArg(arg.list(Array.from({ length: 10_000 }, () => arg.map([]))))];
      break;
    case 'no-args':
    case 'no-args-queued':
    case 'no-args-running':
      break;
    case 'small-mixed':
      args = [toAny(42), toAny(2.5), toAny(true), toAny('twenty characters...')];
      break;
    case 'deps-1000x256':
    case 'deps-1000x36': {
      // One dependency that never finishes (first, so every task waits) and 999 that have succeeded.
      const length = shape === 'deps-1000x36' ? 36 : 256;
      const id = (i) => `dep-${String(i).padStart(4, '0')}-`.padEnd(length, 'x');
      await client.submitTask({ taskId: id(0), method: 'never', detached: true });
      for (let i = 1; i < 1000; i++) await client.submitTask({ taskId: id(i), method: 'ping' });
      deps = Array.from({ length: 1000 }, (_, i) => id(i));
      break;
    }
    default:
      throw new Error(`unknown shape ${shape}`);
  }
  const method = state === 'running' ? 'never' : args.length === 0 ? 'ping' : 'echo';
  const taskId = (prefix, i) => `${prefix}-${String(i).padStart(6, '0')}`;

  // Warm-up: the same code paths once (JIT, lazily built structures), then gone again.
  for (let i = 0; i < 3; i++) await client.submitTask({ taskId: taskId('warm', i), method, args, deps, detached: true });
  await settle();
  for (let i = 0; i < 3; i++) await client.cancelTask({ taskId: taskId('warm', i) });
  await settle();
  const before = heap();
  const bytesBefore = app.scheduler.stats().unfinishedBytes;

  // A few submissions in flight at a time (like several clients), each task held until the end.
  let next = 0;
  const submitter = async () => {
    while (next < n) {
      const i = next++;
      const res = await client.submitTask({ taskId: taskId('task', i), method, args, deps, detached: true });
      if (res.status !== 0) throw new Error(`task ${i} not accepted: ${JSON.stringify(res)}`);
    }
  };
  await Promise.all([submitter(), submitter(), submitter(), submitter()]);
  await settle();
  const stats = app.scheduler.stats();
  const held = state === 'deps' ? stats.waitingForDeps : state === 'slot' ? stats.waitingForSlot : stats.running - 1;
  if (held !== n) throw new Error(`expected ${n} tasks held (${state}), stats say ${JSON.stringify(stats)}`);
  const after = heap();
  const charged = stats.unfinishedBytes - bytesBefore;

  close();
  await app.close();
  console.log(JSON.stringify({
    shape,
    n,
    heapPerTask: (after.used - before.used) / n,
    chargePerTask: charged / n,
    externalPerTask: (after.external - before.external) / n,
  }));
}

/** Lets detached tasks reach their dependency wait. */
function settle() {
  return new Promise((resolve) => setTimeout(resolve, 300));
}

/** Heap in use after full collections (several: weak callbacks and finalizers free more on the next). */
function heap() {
  for (let i = 0; i < 4; i++) global.gc();
  const usage = process.memoryUsage();
  return { used: usage.heapUsed, external: usage.external };
}

Promise.resolve()
  .then(main)
  .catch((err) => {
    console.error(err);
    process.exit(1);
  });
