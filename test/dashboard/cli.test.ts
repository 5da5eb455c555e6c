/**
 * `--dashboard-addr` on the real command line (compiled dist/, so the page's files must be found from
 * there): the ready line and the "Dashboard at" line name the URL, the page and API answer, a taken
 * port is a clear error, and the flag's parsing (bare port → loopback, env var, bad values).
 */
import { createServer } from 'node:net';
import { parseCliOptions } from '../../src/cli/options';
import { killCli, startCli, type CliProcess } from '../helpers/cli';

jest.setTimeout(60_000);

describe('the CLI flag --dashboard-addr', () => {
  let cli: CliProcess | undefined;
  afterEach(() => killCli(cli));

  test('logs the dashboard URL and serves the page and the API from dist/', async () => {
    cli = await startCli(['-a', '127.0.0.1:0', '--dashboard-addr', '127.0.0.1:0', '--log-dir', '', '-l', '']);
    const url = /"dashboard":"(http:\/\/127\.0\.0\.1:[1-9]\d*\/)"/.exec(cli.readyLine);
    expect(url).not.toBeNull();
    await cli.waitFor(new RegExp(`Dashboard at ${url![1]!.replace(/[.]/g, '\\.')}`));
    const page = await fetch(url![1]!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Task Scheduler dashboard</title>');
    const script = await fetch(`${url![1]}app.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const overview = (await (await fetch(`${url![1]}api/overview`)).json()) as { totals: { accepted: number } };
    expect(overview.totals.accepted).toBe(0);
    expect(await cli.stop()).toBe(0);
  });

  test('off by default', async () => {
    cli = await startCli(['-a', '127.0.0.1:0', '--log-dir', '', '-l', '']);
    expect(cli.readyLine).toContain('"dashboard":"off"');
    expect(await cli.stop()).toBe(0);
  });

  test('a dashboard port in use: a clear error and exit code 1', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const error = await startCli(['-a', '127.0.0.1:0', '--dashboard-addr', `127.0.0.1:${port}`, '--log-dir', '', '-l', '']).then(
        (started) => {
          cli = started;
          throw new Error('the CLI started although the dashboard port was taken');
        },
        (err: unknown) => String(err),
      );
      expect(error).toContain('the CLI exited (1)');
      expect(error).toContain(`cannot serve the dashboard on 127.0.0.1:${port}`);
      expect(error).toContain('EADDRINUSE');
    } finally {
      blocker.close();
    }
  });
});

describe('parsing --dashboard-addr', () => {
  const parse = (...argv: string[]) => parseCliOptions(argv)!.app;

  test('host:port as given; a bare port (or :port) means loopback', () => {
    expect(parse('--dashboard-addr', '0.0.0.0:8080').dashboardAddr).toBe('0.0.0.0:8080');
    expect(parse('--dashboard-addr', '8080').dashboardAddr).toBe('127.0.0.1:8080');
    expect(parse('--dashboard-addr', ':8080').dashboardAddr).toBe('127.0.0.1:8080');
    expect(parse('--dashboard-addr', '[::1]:8080').dashboardAddr).toBe('[::1]:8080');
    expect(parse().dashboardAddr).toBe('');
    expect(parse().dashboardHistory).toBe(10_000);
    expect(parse('--dashboard-history', '50').dashboardHistory).toBe(50);
    expect(parse().dashboardHistoryBytes).toBe(64 * 1024 * 1024);
    expect(parse('--dashboard-history-bytes', '1000000').dashboardHistoryBytes).toBe(1_000_000);
    expect(() => parse('--dashboard-history-bytes', '0')).toThrow('--dashboard-history-bytes must be at least 1, got 0');
  });

  test('reads TASK_SCHEDULER_DASHBOARD_ADDR', () => {
    process.env['TASK_SCHEDULER_DASHBOARD_ADDR'] = '127.0.0.1:9999';
    try {
      expect(parse().dashboardAddr).toBe('127.0.0.1:9999');
    } finally {
      delete process.env['TASK_SCHEDULER_DASHBOARD_ADDR'];
    }
  });

  test('bad values name the flag', () => {
    expect(() => parse('--dashboard-addr', 'localhost')).toThrow('--dashboard-addr: invalid address "localhost": expected host:port');
    expect(() => parse('--dashboard-addr', '127.0.0.1:70000')).toThrow('--dashboard-addr: invalid address "127.0.0.1:70000": port 70000 is above 65535');
    expect(() => parse('--dashboard-history', '0')).toThrow('--dashboard-history must be at least 1, got 0');
  });
});
