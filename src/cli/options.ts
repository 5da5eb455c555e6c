import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { DEFAULT_APP_CONFIG, type AppConfig } from '../app';
import { LOG_LEVELS, type LogLevel } from '../logging/create-logger';
import { parseListenAddress } from '../server/listen-address';
import { tracingWanted } from './tracing';

/** Everything the command line sets. */
export interface CliOptions {
  readonly addr: string;
  /** `--otlp-endpoint` (empty: the OTEL_* variables decide). */
  readonly otlpEndpoint: string;
  readonly app: AppConfig;
  readonly logLevel: LogLevel;
  readonly logDir: string;
  readonly logFile: string | undefined;
  /** Run the interactive console beside the server. */
  readonly console: boolean;
}

const nonNegativeInt = (flag: string) => (value: unknown): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${flag} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
};
const positiveInt = (flag: string) => (value: unknown): number => {
  const n = nonNegativeInt(flag)(value);
  if (n < 1) throw new Error(`--${flag} must be at least 1, got ${JSON.stringify(value)}`);
  return n;
};

/**
 * The yargs parser: every flag also reads `TASK_SCHEDULER_<FLAG>` (e.g. TASK_SCHEDULER_ADDR), unknown
 * flags are errors, `--help` lists all with defaults.
 */
export function buildParser(argv: readonly string[]): Argv<Record<string, unknown>> {
  const d = DEFAULT_APP_CONFIG;
  return yargs([...argv])
    .scriptName('task-scheduler')
    .usage('$0 [options]\n\nServes the Task Scheduler gRPC API. Every option also reads TASK_SCHEDULER_<OPTION> from the environment.')
    .env('TASK_SCHEDULER')
    .option('addr', { alias: 'a', type: 'string', default: '127.0.0.1:50051', describe: 'Listen address host:port (port 0 picks a free port)' })
    .option('library-dir', { alias: 'l', type: 'string', default: d.libraryDir, describe: 'Directory of task plugins (JS modules); empty: none' })
    .option('dependency-timeout-ms', { type: 'number', default: d.dependencyTimeoutMs, describe: 'Default max wait for unfinished dependencies' })
    .option('execution-timeout-ms', { type: 'number', default: d.executionTimeoutMs, describe: 'Default max run time of an async task (0 = none)' })
    .option('result-ttl-secs', { type: 'number', default: d.resultTtlSecs, describe: 'How long results are kept (0 = until evicted by size)' })
    .option('max-results', { type: 'number', default: d.maxResults, describe: 'Most results kept (least recent evicted first)' })
    .option('max-result-bytes', { type: 'number', default: d.maxResultBytes, describe: 'Most bytes of results kept (finished results as encoded; unfinished ones estimated)' })
    .option('max-arg-depth', { type: 'number', default: d.maxArgDepth, describe: 'Deepest nesting of list/map arguments accepted' })
    .option('max-message-bytes', { type: 'number', default: d.maxMessageBytes, describe: 'Largest request message accepted (beyond: RESOURCE_EXHAUSTED)' })
    .option('max-args', { type: 'number', default: d.maxArgs, describe: 'Most arguments in one request' })
    .option('max-deps', { type: 'number', default: d.maxDeps, describe: 'Most dependencies in one request' })
    .option('max-task-id-length', { type: 'number', default: d.maxTaskIdLength, describe: 'Longest task id (and dependency id), characters' })
    .option('max-string-bytes', { type: 'number', default: d.maxStringBytes, describe: 'Largest string/bytes argument value or map key, bytes' })
    .option('max-map-entries', { type: 'number', default: d.maxMapEntries, describe: 'Most entries in one map/struct argument' })
    .option('max-concurrent-tasks', { type: 'number', default: d.maxConcurrentTasks, describe: 'Most tasks running at once (0 = unlimited); tasks waiting for dependencies hold no slot' })
    .option('max-queued-tasks', { type: 'number', default: d.maxQueuedTasks, describe: 'Most tasks waiting for a slot; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-dependent-tasks', { type: 'number', default: d.maxDependentTasks, describe: 'Most tasks waiting for unfinished dependencies; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-unfinished-bytes', { type: 'number', default: d.maxUnfinishedBytes, describe: 'Most bytes held by accepted unfinished tasks (args, deps, records; dependents at most half); beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-dependency-timeout-ms', { type: 'number', default: d.maxDependencyTimeoutMs, describe: 'Largest dependency_timeout_ms a request may ask for' })
    .option('max-execution-timeout-ms', { type: 'number', default: d.maxExecutionTimeoutMs, describe: 'Largest execution_timeout_ms a request may ask for' })
    .option('max-attempts', { type: 'number', default: d.maxAttempts, describe: 'Largest retry_policy.max_attempts a request may ask for' })
    .option('worker-threads', { type: 'number', default: d.workerThreads, describe: 'Worker threads for CPU-bound sync tasks (0 = run them inline)' })
    .option('worker-max-memory-mb', { type: 'number', default: d.workerMaxMemoryMb, describe: 'Heap limit of each worker thread (0 = Node default)' })
    .option('task-module', { type: 'string', array: true, default: [] as string[], describe: 'JS module(s) of your own tasks (syncTask/asyncTask at import), loaded here and in workers' })
    .option('stall-warn-ms', { type: 'number', default: d.stallWarnMs, describe: 'Warn (naming the running tasks) when the event loop is blocked this long (0 = off)' })
    .option('shutdown-grace-ms', { type: 'number', default: d.shutdownGraceMs, describe: 'On SIGINT/SIGTERM, how long unfinished tasks may run before they are cancelled' })
    .option('tls-cert', { type: 'string', describe: 'PEM certificate chain: serve TLS (with --tls-key)' })
    .option('tls-key', { type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('tls-ca-cert', { type: 'string', describe: 'PEM CA: require client certificates it signed (mTLS)' })
    .option('auth-token', { type: 'string', array: true, describe: 'Require "authorization: Bearer <token>" (repeatable); prefer the env var or --auth-token-file' })
    .option('auth-token-file', { type: 'string', describe: 'File of accepted bearer tokens, one per line (# comments)' })
    .option('metrics-addr', { type: 'string', default: '', describe: 'Serve Prometheus metrics at http://host:port/metrics; empty: off' })
    .option('store', {
      type: 'string',
      default: d.store,
      describe: 'Result store: memory (lost at exit); sqlite:<path> (embedded, durable: tasks and results survive a crash or restart); or a Redis URL redis://[:password@]host:port[/db] (rediss:// for TLS) shared by replicas',
    })
    .option('sqlite-synchronous', {
      type: 'string',
      choices: ['normal', 'full'],
      default: d.sqliteSynchronous,
      describe: 'With sqlite: normal = a commit survives the process crashing; full = it also survives power loss (an fsync per commit, slower)',
    })
    .option('redis-prefix', { type: 'string', default: d.redisPrefix, describe: 'Prefix of the Redis keys and channels (deployments sharing one Redis use different ones)' })
    .option('lease-ms', { type: 'number', default: d.leaseMs, describe: 'With Redis: a replica silent this long is lost; another takes over its tasks that can run again, the rest become FAILED' })
    .option('dashboard-addr', { type: 'string', default: '', describe: 'Serve the read-only web dashboard at http://host:port/ (a bare port means 127.0.0.1); empty: off' })
    .option('dashboard-history', { type: 'number', default: d.dashboardHistory, describe: 'Most recent tasks the dashboard lists (bounded memory)' })
    .option('otlp-endpoint', {
      type: 'string',
      default: '',
      describe: 'OpenTelemetry tracing: send spans over OTLP/HTTP to this collector (base URL, e.g. http://127.0.0.1:4318); also on with OTEL_EXPORTER_OTLP_ENDPOINT. Off by default',
    })
    .option('cli', { alias: 'c', type: 'boolean', default: false, describe: 'Interactive console beside the server (help, list, plugins, load, unload, reload, exit)' })
    .option('log-level', { type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'Log level (per-task lines are debug)' })
    .option('log-dir', { type: 'string', default: 'logs', describe: 'Directory for a timestamped JSON-lines log file per run; empty: no file' })
    .option('log-file', { type: 'string', describe: 'Log to this file instead (appends)' })
    .strict()
    .version(false)
    .help()
    .alias('help', 'h')
    .wrap(Math.min(110, process.stdout.columns || 110));
}

/**
 * Parses and validates the command line; throws an Error with a user-facing message when invalid.
 * Undefined when `--help` was asked for (and printed).
 */
export function parseCliOptions(argv: readonly string[]): CliOptions | undefined {
  let failure: string | undefined;
  const parsed = buildParser(argv)
    .fail((message, error) => {
      failure = message || error?.message || 'invalid command line';
    })
    .exitProcess(false)
    .parseSync() as Record<string, unknown>;
  if (failure) throw new Error(failure);
  if (parsed['help']) return undefined;
  const addr = String(parsed['addr']);
  parseListenAddress(addr);
  const tls = tlsFiles(parsed['tls-cert'], parsed['tls-key'], parsed['tls-ca-cert']);
  const authTokens = [...((parsed['auth-token'] as string[] | undefined) ?? []), ...tokensFromFile(parsed['auth-token-file'])].filter((t) => t !== '');
  for (const token of authTokens) {
    if (/\s/.test(token)) throw new Error('--auth-token: a token must not contain whitespace');
  }
  const metricsAddr = String(parsed['metrics-addr'] ?? '');
  if (metricsAddr) parseListenAddress(metricsAddr);
  const store = String(parsed['store'] ?? 'memory');
  if (store !== 'memory' && !/^rediss?:\/\/[^/]/i.test(store) && !/^sqlite:.+/.test(store)) {
    throw new Error(`--store must be memory, sqlite:<path> or a Redis URL (redis://host:port, rediss://host:port), got ${JSON.stringify(store)}`);
  }
  const leaseMs = positiveInt('lease-ms')(parsed['lease-ms']);
  if (leaseMs < 100) throw new Error(`--lease-ms must be at least 100, got ${leaseMs}`);
  const dashboardAddr = dashboardAddress(String(parsed['dashboard-addr'] ?? ''));
  const otlpEndpoint = String(parsed['otlp-endpoint'] ?? '');
  if (otlpEndpoint !== '' && !/^https?:\/\/[^/]/i.test(otlpEndpoint)) {
    throw new Error(`--otlp-endpoint must be an http(s) URL of an OTLP/HTTP collector, e.g. http://127.0.0.1:4318, got ${JSON.stringify(otlpEndpoint)}`);
  }
  const dependencyTimeoutMs = positiveInt('dependency-timeout-ms')(parsed['dependency-timeout-ms']);
  const maxDependencyTimeoutMs = positiveInt('max-dependency-timeout-ms')(parsed['max-dependency-timeout-ms']);
  if (dependencyTimeoutMs > maxDependencyTimeoutMs) {
    throw new Error(`--dependency-timeout-ms ${dependencyTimeoutMs} is over --max-dependency-timeout-ms ${maxDependencyTimeoutMs}`);
  }
  const executionTimeoutMs = nonNegativeInt('execution-timeout-ms')(parsed['execution-timeout-ms']);
  const maxExecutionTimeoutMs = positiveInt('max-execution-timeout-ms')(parsed['max-execution-timeout-ms']);
  if (executionTimeoutMs > maxExecutionTimeoutMs) {
    throw new Error(`--execution-timeout-ms ${executionTimeoutMs} is over --max-execution-timeout-ms ${maxExecutionTimeoutMs}`);
  }
  const app: AppConfig = {
    libraryDir: String(parsed['library-dir'] ?? ''),
    dependencyTimeoutMs,
    executionTimeoutMs,
    resultTtlSecs: nonNegativeInt('result-ttl-secs')(parsed['result-ttl-secs']),
    maxResults: positiveInt('max-results')(parsed['max-results']),
    maxResultBytes: positiveInt('max-result-bytes')(parsed['max-result-bytes']),
    maxArgDepth: positiveInt('max-arg-depth')(parsed['max-arg-depth']),
    maxMessageBytes: positiveInt('max-message-bytes')(parsed['max-message-bytes']),
    maxArgs: nonNegativeInt('max-args')(parsed['max-args']),
    maxDeps: nonNegativeInt('max-deps')(parsed['max-deps']),
    maxTaskIdLength: positiveInt('max-task-id-length')(parsed['max-task-id-length']),
    maxStringBytes: nonNegativeInt('max-string-bytes')(parsed['max-string-bytes']),
    maxMapEntries: nonNegativeInt('max-map-entries')(parsed['max-map-entries']),
    shutdownGraceMs: nonNegativeInt('shutdown-grace-ms')(parsed['shutdown-grace-ms']),
    maxConcurrentTasks: nonNegativeInt('max-concurrent-tasks')(parsed['max-concurrent-tasks']),
    maxQueuedTasks: nonNegativeInt('max-queued-tasks')(parsed['max-queued-tasks']),
    maxDependentTasks: nonNegativeInt('max-dependent-tasks')(parsed['max-dependent-tasks']),
    maxUnfinishedBytes: nonNegativeInt('max-unfinished-bytes')(parsed['max-unfinished-bytes']),
    maxDependencyTimeoutMs,
    maxExecutionTimeoutMs,
    maxAttempts: positiveInt('max-attempts')(parsed['max-attempts']),
    workerThreads: nonNegativeInt('worker-threads')(parsed['worker-threads']),
    workerMaxMemoryMb: nonNegativeInt('worker-max-memory-mb')(parsed['worker-max-memory-mb']),
    taskModules: ((parsed['task-module'] as string[] | undefined) ?? []).filter((module) => module !== ''),
    tls,
    authTokens,
    metricsAddr,
    stallWarnMs: nonNegativeInt('stall-warn-ms')(parsed['stall-warn-ms']),
    store,
    sqliteSynchronous: parsed['sqlite-synchronous'] === 'full' ? 'full' : 'normal',
    redisPrefix: String(parsed['redis-prefix'] ?? ''),
    leaseMs,
    dashboardAddr,
    dashboardHistory: positiveInt('dashboard-history')(parsed['dashboard-history']),
    tracing: tracingWanted(otlpEndpoint),
  };
  const logFile = parsed['log-file'];
  return {
    addr,
    otlpEndpoint,
    app,
    logLevel: parsed['log-level'] as LogLevel,
    logDir: String(parsed['log-dir'] ?? ''),
    logFile: typeof logFile === 'string' && logFile !== '' ? logFile : undefined,
    console: parsed['cli'] === true,
  };
}

/** `--dashboard-addr`: `host:port`, or a bare `port` / `:port` on loopback (the dashboard is off the public net by default). */
function dashboardAddress(text: string): string {
  if (text === '') return '';
  const bare = /^:?(\d{1,5})$/.exec(text);
  const address = bare ? `127.0.0.1:${bare[1]}` : text;
  try {
    parseListenAddress(address);
  } catch (err) {
    throw new Error(`--dashboard-addr: ${err instanceof Error ? err.message : String(err)}`);
  }
  return address;
}

function tlsFiles(cert: unknown, key: unknown, ca: unknown): AppConfig['tls'] {
  const given = (value: unknown): value is string => typeof value === 'string' && value !== '';
  if (!given(cert) && !given(key)) {
    if (given(ca)) throw new Error('--tls-ca-cert needs --tls-cert and --tls-key (mTLS is TLS with client certificates)');
    return undefined;
  }
  if (!given(cert) || !given(key)) throw new Error('--tls-cert and --tls-key go together');
  return given(ca) ? { cert, key, caCert: ca } : { cert, key };
}

function tokensFromFile(file: unknown): string[] {
  if (typeof file !== 'string' || file === '') return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`--auth-token-file: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const tokens = text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== '' && !line.startsWith('#'));
  if (tokens.length === 0) throw new Error(`--auth-token-file: ${file} holds no token`);
  return tokens;
}
