#!/usr/bin/env node
// Measures what the dashboard's task history really holds against what it counts for
// --dashboard-history-bytes: fills a TaskHistory (from dist/, so `npm run build` first) with tasks of
// N deps of L characters each, then compares heapUsed after gc() with history.bytes.
// Usage: node --expose-gc scripts/dashboard-history-heap.js [tasks=10000] [deps=100] [idChars=64] [ascii|wide]
'use strict';
const path = require('node:path');
const root = path.resolve(__dirname, '..');
const { TaskHistory } = require(path.join(root, 'dist/src/dashboard/task-history'));
const { newRecord, withState } = require(path.join(root, 'dist/src/results/task-record'));

if (typeof global.gc !== 'function') {
  process.stderr.write('run with node --expose-gc\n');
  process.exit(2);
}
const [tasks = 10_000, deps = 100, chars = 64] = process.argv.slice(2, 5).map(Number);
const fill = process.argv[5] === 'wide' ? 'é€' : 'x';
const heap = () => {
  global.gc();
  global.gc();
  return process.memoryUsage().heapUsed;
};
const before = heap();
const history = new TaskHistory(tasks, Number.MAX_SAFE_INTEGER);
for (let i = 0; i < tasks; i++) {
  const ids = Array.from({ length: deps }, (_, j) => `dep-${i}-${j}-`.padEnd(chars, fill));
  const record = newRecord(`task-${i}-`.padEnd(chars, 'y'), { method: 'm', deps: ids, argsDigest: '[1]', injectDependencyResults: false, retryKey: '' }, Date.now());
  history.taskAccepted(record, `[${i},2,3]`); // per task, as the engine's are
  history.taskFinished(withState(record, 'FAILED', 'x', { code: 13, message: `Task execution failed: boom ${i}` }, 1, 2), 1);
}
const real = heap() - before;
const mb = (n) => (n / 1048576).toFixed(1);
process.stdout.write(`${tasks} tasks × ${deps} deps of ${chars} ${fill === 'x' ? 'one-byte' : 'two-byte'} chars: heap ${mb(real)} MB, counted ${mb(history.bytes)} MB (ratio ${(history.bytes / real).toFixed(2)})\n`);
