#!/usr/bin/env node
/**
 * The command-line entry point — the only place that reads flags, sets up logging, listens and handles
 * signals (`npm start -- -a host:port`).
 */
import { buildApp, type App } from '../app';
import { createLogger } from '../logging/create-logger';
import { routeGrpcLogs } from '../logging/grpc-log-router';
import { throttledLogger } from '../logging/throttled-logger';
import { startConsole } from './interactive-console';
import { parseCliOptions } from './options';
import { isSharedResultStore } from '../results/shared-result-store';
import { StoreOpenError } from '../results/sqlite-result-store';
import { startTracing } from './tracing';

/** This package's version (for the tracing resource). */
function packageVersion(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('../../../package.json') as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The store for the ready line, without a password. */
function describeStore(store: string): string {
  if (store === 'memory' || store.startsWith('sqlite:')) return store;
  const url = new URL(store);
  return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
}

async function main(argv: readonly string[]): Promise<void> {
  let options;
  try {
    options = parseCliOptions(argv);
  } catch (err) {
    process.stderr.write(`task-scheduler: ${err instanceof Error ? err.message : String(err)}\nRun with --help to list the options.\n`);
    process.exitCode = 2;
    return;
  }
  if (!options) return; // --help or --version was printed
  // Tracing first: the logger adds the active span's ids to its lines.
  const tracing = options.app.tracing ? startTracing(options.otlpEndpoint, packageVersion()) : undefined;
  const { logger, file, close: closeLogs } = createLogger({
    level: options.logLevel,
    dir: options.logDir,
    file: options.logFile,
    console: true,
    // With the interactive console on, stdout is its screen: logs go to stderr.
    consoleToStderr: options.console,
    ...(tracing ? { activeSpan: () => tracing.activeSpan() } : {}),
  });
  // grpc-js's own lines go through our logger: redacted (a bad authorization header printed the token),
  // truncated and rate-limited; its stray line before a failed bind is dropped (reported below, once).
  const grpcLogs = routeGrpcLogs({ logger, secrets: options.app.authTokens });
  let app: App;
  try {
    app = buildApp(options.app, { logger });
  } catch (err) {
    logger.error(`cannot start: ${err instanceof Error ? err.message : String(err)}`);
    await closeLogs();
    // A store that cannot be opened is an environment problem (exit 1), not a bad command line (2).
    process.exitCode = err instanceof StoreOpenError ? 1 : 2;
    return;
  }
  // Handlers go in before listening: a signal right after the ready line must still stop cleanly.
  let stopping = false;
  let firstSignalAt = 0;
  const stop = (signal: NodeJS.Signals) => {
    // Under `npm start`, one Ctrl-C arrives twice (from the terminal and forwarded by npm): a repeat
    // within 250 ms is the same request, not a second one.
    if (stopping && Date.now() - firstSignalAt < 250) return;
    if (stopping) {
      // A second signal does not wait for the drain: unfinished tasks are abandoned, hence exit code 1.
      logger.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    firstSignalAt = Date.now();
    logger.info(`${signal} received: shutting down`, { graceMs: options.app.shutdownGraceMs });
    void app
      .close()
      .then(() => tracing?.shutdown())
      .then(() => {
        grpcLogs.flush();
        logger.info('server stopped');
      })
      .catch((err: unknown) => logger.error('error while shutting down', { err }))
      .finally(() => void closeLogs().finally(() => process.exit(0)));
  };
  // A task's stray promise or timer callback must not take the whole server down.
  // Throttled and bounded: a task a client can run may leave one behind per call.
  const taskFaults = throttledLogger(logger);
  process.on('unhandledRejection', (reason) => taskFaults.error('unhandled rejection (from a task?)', { err: reason }));
  process.on('uncaughtException', (err) => taskFaults.error('uncaught exception (from a task?)', { err }));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  let address: string;
  let metricsAddress: string | undefined;
  let dashboardAddress: string | undefined;
  try {
    ({ grpc: address, metrics: metricsAddress, dashboard: dashboardAddress } = await app.start(options.addr));
  } catch (err) {
    if (err instanceof StoreOpenError) {
      // Found while recovering the store's tasks: the same one line as when it cannot be opened at all.
      logger.error(`cannot start: ${err.message}`);
    } else {
      logger.error(err instanceof Error ? err.message : String(err), {
        addr: options.addr,
        metricsAddr: options.app.metricsAddr || undefined,
        dashboardAddr: options.app.dashboardAddr || undefined,
      });
    }
    await app.close();
    await closeLogs();
    process.exitCode = 1;
    return;
  }
  logger.info(`Task Scheduler listening on ${address}`, {
    address,
    tasks: app.registry.size,
    plugins: app.plugins.list().map((plugin) => plugin.name),
    tls: options.app.tls ? (options.app.tls.caCert ? 'mtls' : 'tls') : 'off',
    tracing: options.app.tracing ? 'otlp' : 'off',
    auth: options.app.authTokens.length > 0 ? 'bearer' : 'off',
    metrics: metricsAddress ? `http://${metricsAddress}/metrics` : 'off',
    store: describeStore(options.app.store),
    ...(isSharedResultStore(app.results) ? { replica: app.results.replicaId } : {}),
    dashboard: dashboardAddress ? `${app.dashboard!.scheme}://${dashboardAddress}/` : 'off',
    logFile: file,
  });
  if (dashboardAddress) logger.info(`Dashboard at ${app.dashboard!.scheme}://${dashboardAddress}/`, { auth: options.app.authTokens.length > 0 ? 'token (login form or bearer header)' : 'off' });
  if (options.console) startConsole({ input: process.stdin, output: process.stdout, app });
}

void main(process.argv.slice(2));
