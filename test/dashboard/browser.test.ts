/**
 * The dashboard in a real browser: Playwright (playwright-core) driving Debian's Chromium, headless,
 * against a real server. A small DAG with one failing node is submitted while the page is open; the
 * test checks the live overview counts, the task list and its filters, the failed task's detail, the
 * graph's failed node (class and colour), that client data is shown as text, and the login form.
 * Screenshots go to test-output/ (gitignored).
 *
 * Chromium is a system package (`.ci/run` installs it); when it is missing this test fails saying so,
 * it is never skipped.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import Long from 'long';
import { toAny } from '../../src/args/encode-arg';
import { startDashboardServer, submitFailingDag, type DashboardTestServer } from './dashboard-helpers';

jest.setTimeout(120_000);

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const OUTPUT_DIR = path.resolve(__dirname, '../../test-output');
/** Headless flags this machine needs (no sandbox as root; no GPU; no calls to Google's hosts). */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];
const FAILED_RGB = 'rgb(198, 40, 40)'; // --failed in style.css

// The project compiles without the DOM library (it is a server); the few browser globals that
// page.evaluate callbacks use are typed here. The callbacks run in the page: they reach them through
// globalThis (the casts compile away), never through variables of this file.
interface BrowserGlobals {
  getComputedStyle(element: unknown): { fill: string };
  document: { querySelectorAll(selector: string): { length: number } };
}
type WithDataset = { dataset: Record<string, string | undefined> };

async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium not found at ${CHROMIUM}: the browser tests need Debian's chromium package. ` +
        'Install it with `apt-get install -y chromium` (.ci/run does this) or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

describe('dashboard in Chromium', () => {
  let browser: Browser;
  let server: DashboardTestServer;
  let page: Page;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    mkdirSync(OUTPUT_DIR, { recursive: true });
    browser = await launch();
    server = await startDashboardServer();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (err) => pageErrors.push(err.message));
    page.on('console', (message) => {
      if (message.type() === 'error') pageErrors.push(message.text());
    });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });
  afterEach(() => {
    // CSP violations, failed requests and script errors surface as console errors: the page must run clean.
    const errors = pageErrors.splice(0);
    const alerts = dialogs.splice(0);
    expect(errors).toEqual([]);
    expect(alerts).toEqual([]);
  });

  test('the overview updates live while a failing DAG runs; the list, detail and graph show where it broke', async () => {
    await page.goto(`${server.baseUrl}/`);
    await page.locator('#live.on').waitFor();
    await expectText(page, '#ov-accepted', '0');
    expect(await page.locator('#logout').isHidden()).toBe(true);

    // Submitted with the page open: the counts arrive over the live stream, without a reload.
    const dag = await submitFailingDag(server.client, 'ui-');
    await expectText(page, '#ov-failed', '2');
    await expectText(page, '#ov-succeeded', '2');
    await expectText(page, '#ov-accepted', '4');
    await expectText(page, '#ov-running', '0');
    await expectText(page, '#ov-pending', '0');
    await expectText(page, '#ov-results', '4');
    await page.locator(`#ov-latest tr[data-task-id="${dag.after}"]`).waitFor();
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard-overview.png'), fullPage: true });

    // Task list: all four, newest first, with statuses; then the filters.
    await page.click('nav a[data-view="tasks"]');
    await expectRows(page, [`${dag.after} FAILED`, `${dag.bad} FAILED`, `${dag.ok} SUCCESS`, `${dag.root} SUCCESS`]);
    await expect(page.locator(`#tasks-table tr[data-task-id="${dag.root}"] td`).nth(1).textContent()).resolves.toBe('sleep');
    // Times carry their date (local), to the millisecond; the UTC form is on hover.
    const submitted = page.locator(`#tasks-table tr[data-task-id="${dag.root}"] td`).nth(4);
    expect(await submitted.textContent()).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(await submitted.getAttribute('title')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    await page.selectOption('#filter-status', 'FAILED');
    await expectRows(page, [`${dag.after} FAILED`, `${dag.bad} FAILED`]);
    await page.selectOption('#filter-method', 'fail');
    await expectRows(page, [`${dag.bad} FAILED`]);
    await page.selectOption('#filter-status', '');
    await page.selectOption('#filter-method', '');
    await page.fill('#filter-q', 'ui-ro');
    await expectRows(page, [`${dag.root} SUCCESS`]);
    await page.fill('#filter-q', '');
    await expectRows(page, [`${dag.after} FAILED`, `${dag.bad} FAILED`, `${dag.ok} SUCCESS`, `${dag.root} SUCCESS`]);

    // The failed task's detail: its error, args, dependencies and dependents.
    await page.click(`#tasks-table tr[data-task-id="${dag.bad}"] a`);
    await expectText(page, '#task-id', dag.bad);
    await expectText(page, '#task-status', 'FAILED');
    await expectText(page, '#task-error', 'INTERNAL: Task execution failed: disk on fire');
    await expectText(page, '#task-args', '[{"string":"disk on fire"}]');
    await expectText(page, '#task-method', 'fail');
    expect(await page.locator('#task-result-box').isHidden()).toBe(true);
    expect(await page.locator('#task-deps a').allTextContents()).toEqual([dag.root]);
    expect(await page.locator('#task-dependents a').allTextContents()).toEqual([dag.after]);

    // The graph: the whole DAG, the failed node drawn red and marked as the focus.
    const nodes = page.locator('#graph g.node');
    await expectCount(nodes, 4);
    const bad = page.locator(`#graph g.node[data-task-id="${dag.bad}"]`);
    expect(await bad.getAttribute('class')).toBe('node status-failed focus');
    expect(await bad.locator('rect').evaluate((rect) => (globalThis as unknown as BrowserGlobals).getComputedStyle(rect).fill)).toBe(FAILED_RGB);
    expect(await page.locator(`#graph g.node[data-task-id="${dag.root}"]`).getAttribute('class')).toBe('node status-success');
    expect(await page.locator(`#graph g.node[data-task-id="${dag.after}"]`).getAttribute('class')).toBe('node status-failed');
    await expectCount(page.locator('#graph path.edge'), 4);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard-task-graph.png'), fullPage: true });

    // A node in the graph opens that task.
    await page.click(`#graph g.node[data-task-id="${dag.root}"]`);
    await expectText(page, '#task-id', dag.root);
    await expectText(page, '#task-result', 'slept 300 ms');
  });

  test('tasks arrive in the list live, without a reload', async () => {
    await page.goto(`${server.baseUrl}/#/tasks`);
    await page.locator('#live.on').waitFor();
    await page.locator('#tasks-table tbody tr').first().waitFor();
    await server.client.submitTask({ taskId: 'arrives-live', method: 'ping' });
    await page.locator('#tasks-table tr[data-task-id="arrives-live"]').waitFor({ timeout: 10_000 });
  });

  test('task ids and results are client data: shown as text, never run as HTML', async () => {
    const evilId = '<img src=x onerror=alert(1)>';
    const evilResult = '<script>alert(2)</script><b>bold</b>';
    await server.client.submitTask({ taskId: evilId, method: 'echo_string', args: [toAny(evilResult)] });
    await page.goto(`${server.baseUrl}/#/tasks`);
    const row = page.locator('#tasks-table tbody tr').filter({ hasText: evilId });
    await row.waitFor();
    expect(await row.locator('td.id').textContent()).toBe(evilId);
    await row.locator('a').click();
    await expectText(page, '#task-id', evilId);
    await expectText(page, '#task-result', evilResult);
    await expectCount(page.locator(`#graph g.node[data-task-id="${evilId}"]`), 1);
    // Nothing was parsed as markup: no <img>, <script> or <b> from the data anywhere in the page.
    expect(await page.locator('main img, main b, main script').count()).toBe(0);
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).document.querySelectorAll('script').length)).toBe(1);
  });

  test('the task list pages beyond 200 rows: Older, Newer, Newest', async () => {
    for (let i = 0; i < 205; i++) await server.client.submitTask({ taskId: `pg-${String(i).padStart(3, '0')}`, method: 'ping', detached: true });
    await page.goto(`${server.baseUrl}/#/tasks`);
    await page.fill('#filter-q', 'pg-');
    const rows = page.locator('#tasks-table tbody tr');
    await expectCount(rows, 200);
    await expectText(page, '#tasks-count', '205 matching task(s) in the history; showing 1–200, newest first.');
    expect(await rows.first().getAttribute('data-task-id')).toBe('pg-204');
    expect(await page.locator('#page-newer').isDisabled()).toBe(true);
    await page.click('#page-older');
    await expectCount(rows, 5);
    await expectText(page, '#tasks-count', '205 matching task(s) in the history; showing 201–205, newest first.');
    expect(await rows.evaluateAll((trs) => trs.map((tr) => (tr as unknown as WithDataset).dataset['taskId']))).toEqual(['pg-004', 'pg-003', 'pg-002', 'pg-001', 'pg-000']);
    expect(await page.locator('#page-older').isDisabled()).toBe(true);
    // A task arriving while on page 2 does not shift it (the cursor is stable).
    await server.client.submitTask({ taskId: 'pg-205', method: 'ping' });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await expectCount(rows, 5);
    await page.click('#page-newer');
    await expectCount(rows, 200);
    await expectText(page, '#tasks-count', '206 matching task(s) in the history; showing 1–200, newest first.');
    expect(await rows.first().getAttribute('data-task-id')).toBe('pg-205');
    await page.fill('#filter-q', '');
  });

  test('graph labels keep long ids with a shared prefix apart (middle ellipsis, full id on hover)', async () => {
    const prefix = 'order-2026-12-05-customer-000042-';
    const [a, b, root] = [`${prefix}item-0001`, `${prefix}item-0002`, `${prefix}root`];
    await server.client.submitTask({ taskId: root, method: 'ping' });
    await server.client.submitTask({ taskId: a, method: 'ping', deps: [root] });
    await server.client.submitTask({ taskId: b, method: 'ping', deps: [root] });
    await page.goto(`${server.baseUrl}/#/task/${encodeURIComponent(root)}`);
    await expectCount(page.locator('#graph g.node'), 3);
    const label = (id: string) => page.locator(`#graph g.node[data-task-id="${id}"] text`).first().textContent();
    const [labelA, labelB] = [await label(a), await label(b)];
    expect(labelA).not.toBe(labelB);
    expect(labelA).toMatch(/^order-2026-\S*…\S*item-0001$/);
    expect(labelA!.length).toBeLessThanOrEqual(28);
    expect(await page.locator(`#graph g.node[data-task-id="${a}"] title`).textContent()).toContain(a);
  });

  test("a retried task's page lists each failed attempt with its time and error", async () => {
    await server.client
      .submitTask({
        taskId: 'ui-flaky',
        method: 'fail',
        args: [toAny('row 42 is bad')],
        retryPolicy: { maxAttempts: 3, initialBackoffMs: Long.fromNumber(20, true), maxBackoffMs: Long.fromNumber(40, true), backoffMultiplier: 2 },
      })
      .catch(() => undefined);
    await page.goto(`${server.baseUrl}/#/task/ui-flaky`);
    await expectText(page, '#task-attempts', '3');
    const rows = page.locator('#task-attempts-table tbody tr');
    await expectCount(rows, 3);
    const cells = await rows.nth(1).locator('td').allTextContents();
    expect(cells[0]).toBe('2');
    expect(cells[1]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
    expect(cells[2]).toBe('INTERNAL');
    expect(cells[3]).toContain('row 42 is bad');
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'dashboard-attempts.png'), fullPage: true });
  });

  test('registered tasks and loaded plugins', async () => {
    await page.goto(`${server.baseUrl}/#/registry`);
    const fail = page.locator('#registry-tasks tbody tr').filter({ has: page.locator('td:first-child', { hasText: /^fail$/ }) });
    await fail.waitFor();
    expect(await fail.locator('td').allTextContents()).toEqual(['fail', 'sync', 'builtin', 'Always fails with the first string argument (or "fail")']);
    await expect(page.locator('#registry-plugins tbody td').first().textContent()).resolves.toBe('plugin_example');
  });
});

describe('dashboard login in Chromium', () => {
  test('with --auth-token the page asks for the token, refuses a wrong one and opens with the right one', async () => {
    const browser = await launch();
    const server = await startDashboardServer({ authTokens: ['browser-token-123'] });
    try {
      const context = await browser.newContext();
      const page = await context.newPage();
      const requested: string[] = [];
      page.on('request', (req) => requested.push(req.url()));
      await page.goto(`${server.baseUrl}/`);
      expect(await page.locator('.login-form p').first().textContent()).toMatch(/--auth-token flag.*--auth-token-file.*TASK_SCHEDULER_AUTH_TOKEN/s);
      await page.fill('#token', 'wrong');
      await page.click('button[type="submit"]');
      await page.locator('#login-failed').waitFor({ state: 'visible' });
      await page.fill('#token', 'browser-token-123');
      await page.click('button[type="submit"]');
      await page.locator('#live.on').waitFor();
      await expectText(page, '#ov-accepted', '0');
      expect(await page.locator('#logout').isVisible()).toBe(true);
      const cookies = await page.context().cookies();
      expect(cookies.map((cookie) => [cookie.name, cookie.httpOnly, cookie.sameSite])).toEqual([['task_scheduler_dashboard', true, 'Strict']]);
      expect(requested.filter((url) => url.includes('browser-token-123'))).toEqual([]);

      // A second tab of the same session, then "Log out" in the first: both lose their live stream.
      const other = await context.newPage();
      await other.goto(`${server.baseUrl}/`);
      await other.locator('#live.on').waitFor();
      await page.click('#logout button');
      await page.locator('#token').waitFor();
      await other.locator('#live.off').waitFor({ timeout: 10_000 });
      // And it stays off: the stream cannot reconnect without a session.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      expect(await other.locator('#live').getAttribute('class')).toBe('live off');
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

async function expectText(page: Page, selector: string, text: string): Promise<void> {
  const locator = page.locator(selector);
  const deadline = Date.now() + 10_000;
  let seen: string | null = null;
  while (Date.now() < deadline) {
    seen = await locator.textContent();
    if (seen === text) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${selector}: expected text ${JSON.stringify(text)}, saw ${JSON.stringify(seen)}`);
}

/** Waits until the task table shows exactly these rows ("id STATUS"), in order. */
async function expectRows(page: Page, expected: readonly string[]): Promise<void> {
  const rows = page.locator('#tasks-table tbody tr');
  const deadline = Date.now() + 10_000;
  let seen: string[] = [];
  while (Date.now() < deadline) {
    seen = await rows.evaluateAll((trs) => trs.map((tr) => `${(tr as unknown as WithDataset).dataset['taskId']} ${(tr as unknown as WithDataset).dataset['status']}`));
    if (JSON.stringify(seen) === JSON.stringify(expected)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`task rows: expected ${JSON.stringify(expected)}, saw ${JSON.stringify(seen)}`);
}

async function expectCount(locator: ReturnType<Page['locator']>, count: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let seen = -1;
  while (Date.now() < deadline) {
    seen = await locator.count();
    if (seen === count) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`expected ${count} element(s), saw ${seen}`);
}
