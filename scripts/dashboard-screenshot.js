#!/usr/bin/env node
// Regenerates docs/dashboard.png (the README's picture of the dashboard): starts the built server
// (dist/, so run `npm run build` first) with the dashboard on, submits a small pipeline in which one
// step fails, and photographs that step's page (detail and dependency graph) in Debian's Chromium
// (CHROMIUM_PATH to use another). Usage: node scripts/dashboard-screenshot.js [out.png]
'use strict';
const path = require('node:path');
const { chromium } = require('playwright-core');
const Long = require('long');

const root = path.resolve(__dirname, '..');
const { buildApp, createBuiltinRegistry } = require(path.join(root, 'dist/src/app'));
const { createTaskSchedulerClient } = require(path.join(root, 'dist/src/client/create-client'));
const { toAny } = require(path.join(root, 'dist/src/args/encode-arg'));

async function main() {
  const out = path.resolve(process.argv[2] || path.join(root, 'docs/dashboard.png'));
  const app = buildApp({ libraryDir: path.join(root, 'libraries'), dashboardAddr: '127.0.0.1:0', shutdownGraceMs: 100 }, { registry: createBuiltinRegistry() });
  const { grpc, dashboard } = await app.start('127.0.0.1:0');
  const { client, close } = createTaskSchedulerClient(grpc);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  try {
    // fetch → parse → (validate, enrich) → merge → report; validate fails, so merge and report fail after it.
    const submit = (taskId, method, args, deps = []) => client.submitTask({ taskId, method, args: args.map(toAny), deps, detached: true });
    await submit('fetch-orders', 'sleep', [600]);
    await submit('parse-orders', 'echo_string', ['orders.csv'], ['fetch-orders']);
    // Retried twice (a policy of 3 attempts): the page lists each failed attempt with its time.
    const retry = { maxAttempts: 3, initialBackoffMs: Long.fromNumber(50, true), maxBackoffMs: Long.fromNumber(100, true), backoffMultiplier: 2 };
    await client.submitTask({ taskId: 'validate-orders', method: 'fail', args: [toAny('row 42: quantity "-3" is negative')], deps: ['parse-orders'], detached: true, retryPolicy: retry });
    await submit('enrich-orders', 'add', [40, 2], ['parse-orders']);
    await submit('merge-orders', 'concat', [], ['validate-orders', 'enrich-orders']);
    await submit('daily-report', 'ping', [], ['merge-orders']);
    for (let i = 0; i < 12; i++) await client.submitTask({ method: i % 3 === 0 ? 'fibonacci' : 'add', args: [toAny(i), toAny(2)] });
    await client.waitResult({ taskId: 'daily-report', timeoutMs: 10_000 });
    const page = await browser.newPage({ viewport: { width: 1200, height: 860 } });
    await page.goto(`http://${dashboard}/#/task/validate-orders`);
    await page.locator('#graph g.node[data-task-id="daily-report"]').waitFor();
    await page.locator('#live.on').waitFor();
    await page.locator('#task-attempts-table tbody tr').nth(2).waitFor();
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    await browser.close();
    close();
    await app.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
