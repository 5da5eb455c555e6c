import { readFileSync } from 'node:fs';
import yargs, { type Argv } from 'yargs';
import { DEFAULT_APP_CONFIG, type AppConfig } from '../app';
import { LOG_LEVELS, type LogLevel } from '../logging/create-logger';
import { parseListenAddress } from '../server/listen-address';
import { packageVersion } from './package-version';
import { tracingWanted } from './tracing';
import { parseRateLimit, type RateLimit } from '../engine/queue/rate-limit';

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

/**
 * A whole number from a flag or its environment variable. Numeric flags have no yargs type (yargs would
 * turn `abc` into NaN, printed as `null`): yargs reads digits as numbers, and anything else reaches
 * here as the text given, so the message can quote it (`got "abc"`).
 */
const nonNegativeInt = (flag: string) => (value: unknown): number => {
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`--${flag} must be a whole number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
};
const positiveInt = (flag: string) => (value: unknown): number => {
  const n = nonNegativeInt(flag)(value);
  if (n < 1) throw new Error(`--${flag} must be at least 1, got ${JSON.stringify(value)}`);
  return n;
};

/** `method=value,method=value` (a method name may not hold `=` or `,`); errors name the flag. */
function methodMap<T>(flag: string, value: unknown, parse: (text: string, what: string) => T): ReadonlyMap<string, T> {
  const map = new Map<string, T>();
  const text = String(value ?? '').trim();
  if (text === '') return map;
  for (const item of text.split(',')) {
    const at = item.lastIndexOf('=');
    const method = item.slice(0, at).trim();
    if (at <= 0 || method === '') throw new Error(`--${flag}: '${item}' is not METHOD=VALUE (e.g. --${flag} add=4)`);
    map.set(method, parse(item.slice(at + 1).trim(), `--${flag} ${method}`));
  }
  return map;
}

function flagRateLimit(text: string, what: string): RateLimit {
  try {
    return parseRateLimit(text, what);
  } catch (err) {
    // The domain error's "Invalid arguments: " prefix is for gRPC callers, not for flags.
    throw new Error(err instanceof Error ? err.message.replace(/^Invalid arguments: /, '') : String(err));
  }
}

/** Flags that may be given more than once (each use adds a value). */
const REPEATABLE = new Set(['task-module', 'auth-token']);

/**
 * Epilogue of `--help`: the environment variables. yargs reads `TASK_SCHEDULER_<FLAG>` for every flag
 * (upper case, dashes as underscores); a flag on the command line wins over its variable.
 */
const ENVIRONMENT_HELP = [
  'Every flag can also be set as an environment variable TASK_SCHEDULER_<FLAG>: upper case, dashes as',
  'underscores, e.g. TASK_SCHEDULER_ADDR=0.0.0.0:50051, TASK_SCHEDULER_MAX_ARGS=100,',
  'TASK_SCHEDULER_AUTH_TOKEN=s3cret. A flag given on the command line wins over its variable.',
].join('\n');

/**
 * The yargs parser: every flag also reads `TASK_SCHEDULER_<FLAG>` (e.g. TASK_SCHEDULER_ADDR), unknown
 * flags are errors, `--help` lists all with defaults.
 */
export function buildParser(argv: readonly string[]): Argv<Record<string, unknown>> {
  const d = DEFAULT_APP_CONFIG;
  return yargs([...argv])
    .scriptName('task-scheduler')
    .usage('$0 [options]\n\nServes the Task Scheduler gRPC API. Every flag can also be set as TASK_SCHEDULER_<FLAG> (see below).')
    .epilogue(ENVIRONMENT_HELP)
    .env('TASK_SCHEDULER')
    .option('addr', { requiresArg: true, alias: 'a', type: 'string', default: '127.0.0.1:50051', describe: 'Listen address host:port (port 0 picks a free port; a bare port means 127.0.0.1)' })
    .option('library-dir', { requiresArg: true, alias: 'l', type: 'string', default: d.libraryDir, describe: 'Directory of task plugins (JS modules); empty: none' })
    .option('dependency-timeout-ms', { requiresArg: true, default: d.dependencyTimeoutMs, describe: 'Default max wait for unfinished dependencies' })
    .option('execution-timeout-ms', { requiresArg: true, default: d.executionTimeoutMs, describe: 'Default max run time of an async task (0 = none)' })
    .option('result-ttl-secs', { requiresArg: true, default: d.resultTtlSecs, describe: 'How long results are kept (0 = until evicted by size)' })
    .option('max-results', { requiresArg: true, default: d.maxResults, describe: 'Most results kept (least recent evicted first)' })
    .option('max-result-bytes', { requiresArg: true, default: d.maxResultBytes, describe: 'Most bytes of results kept (finished results as encoded; unfinished ones estimated)' })
    .option('max-arg-depth', { requiresArg: true, default: d.maxArgDepth, describe: 'Deepest nesting of list/map arguments accepted' })
    .option('max-message-bytes', { requiresArg: true, default: d.maxMessageBytes, describe: 'Largest request message accepted (beyond: RESOURCE_EXHAUSTED)' })
    .option('max-args', { requiresArg: true, default: d.maxArgs, describe: 'Most arguments in one request' })
    .option('max-deps', { requiresArg: true, default: d.maxDeps, describe: 'Most dependencies in one request' })
    .option('max-task-id-length', { requiresArg: true, default: d.maxTaskIdLength, describe: 'Longest task id (and dependency id), characters' })
    .option('max-string-bytes', { requiresArg: true, default: d.maxStringBytes, describe: 'Largest string/bytes argument value or map key, bytes' })
    .option('max-map-entries', { requiresArg: true, default: d.maxMapEntries, describe: 'Most entries in one map/struct argument' })
    .option('max-concurrent-tasks', { requiresArg: true, default: d.maxConcurrentTasks, describe: 'Most tasks running at once (0 = unlimited); tasks waiting for dependencies hold no slot' })
    .option('priority-aging-ms', { requiresArg: true, default: d.priorityAgingMs, describe: 'A task waiting for a slot this long counts as one priority level higher (no priority starves)' })
    .option('method-concurrency', { requiresArg: true, type: 'string', default: '', describe: 'Per-method running limits (with Redis: across replicas), e.g. "sleep=2,fib=4" (over the registration default)' })
    .option('key-concurrency', { requiresArg: true, default: d.keyConcurrency, describe: 'Most running tasks per concurrency key (0 = unlimited); with Redis a global count across replicas' })
    .option('method-rate-limit', { requiresArg: true, type: 'string', default: '', describe: 'Per-method start rates, e.g. "add=100/1000" (100 starts per 1000 ms, sliding window; with Redis: across replicas)' })
    .option('key-rate-limit', { requiresArg: true, type: 'string', default: '', describe: 'Start rate per concurrency key, STARTS/INTERVAL_MS, e.g. 10/1000 (with Redis: across replicas); empty: none' })
    .option('max-schedule-ahead-ms', { requiresArg: true, default: d.maxScheduleAheadMs, describe: 'Furthest start time (start_at_ms, delay_ms) a request may ask for' })
    .option('max-queued-tasks', { requiresArg: true, default: d.maxQueuedTasks, describe: 'Most tasks waiting for a slot; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-dependent-tasks', { requiresArg: true, default: d.maxDependentTasks, describe: 'Most tasks waiting for unfinished dependencies; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-unfinished-bytes', { requiresArg: true, default: d.maxUnfinishedBytes, describe: 'Most bytes held by accepted unfinished tasks (args, deps, records; dependents at most half); beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-dependency-timeout-ms', { requiresArg: true, default: d.maxDependencyTimeoutMs, describe: 'Largest dependency_timeout_ms a request may ask for' })
    .option('max-execution-timeout-ms', { requiresArg: true, default: d.maxExecutionTimeoutMs, describe: 'Largest execution_timeout_ms a request may ask for' })
    .option('max-parked-waits', { requiresArg: true, default: d.maxParkedWaits, describe: 'Most WaitResult calls parked at once, all connections; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-parked-waits-per-connection', { requiresArg: true, default: d.maxParkedWaitsPerConnection, describe: 'Most WaitResult calls parked at once on one connection; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-streams-per-connection', { requiresArg: true, default: d.maxStreamsPerConnection, describe: 'HTTP/2 concurrent streams (calls in progress) per connection; clients queue beyond it' })
    .option('max-session-memory-mb', { requiresArg: true, default: d.maxSessionMemoryMb, describe: 'MiB buffered per connection (responses not yet read, requests) beyond which its new calls are refused' })
    .option('max-connections', { requiresArg: true, default: d.maxConnections, describe: 'Most open connections on the gRPC port; beyond, new ones are closed (0 = 80% of the open-file limit)' })
    .option('connection-idle-timeout-ms', { requiresArg: true, default: d.connectionIdleTimeoutMs, describe: 'A connection with no call for this long is closed with GOAWAY (0 = never)' })
    .option('handshake-timeout-ms', { requiresArg: true, default: d.handshakeTimeoutMs, describe: 'A connection that sent no byte in this long is closed (0 = never)' })
    .option('keepalive-time-ms', { requiresArg: true, default: d.keepaliveTimeMs, describe: 'Server PING on a quiet connection after this long; unanswered in 20 s, it is closed (0 = none)' })
    .option('max-unread-bytes-per-connection', { requiresArg: true, default: d.maxUnreadBytesPerConnection, describe: 'Bytes of GetResult/WaitResult responses one connection may leave unread; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('max-unread-bytes', { requiresArg: true, default: d.maxUnreadBytes, describe: 'Bytes of GetResult/WaitResult responses all clients together may leave unread; beyond it RESOURCE_EXHAUSTED (0 = unlimited)' })
    .option('write-timeout-ms', { requiresArg: true, default: d.writeTimeoutMs, describe: 'A connection whose unread responses made no progress for this long is closed (0 = never)' })
    .option('max-batch-tasks', { requiresArg: true, default: d.maxBatchTasks, describe: 'Most tasks in one SubmitTasks, and task ids in one WatchTasks' })
    .option('max-watch-buffer', { requiresArg: true, default: d.maxWatchBuffer, describe: 'Most events a WatchTasks stream holds for a slow reader; beyond it the stream ends RESOURCE_EXHAUSTED' })
    .option('await-unknown-deps', { type: 'boolean', default: false, describe: 'A dependency the server does not know yet is waited for (within the dependency timeout) instead of "Missing dependency"; per request: await_unknown_deps' })
    .option('max-attempts', { requiresArg: true, default: d.maxAttempts, describe: 'Largest retry_policy.max_attempts a request may ask for' })
    .option('worker-threads', { requiresArg: true, default: d.workerThreads, describe: 'Worker threads for CPU-bound sync tasks (0 = run them inline)' })
    .option('worker-max-memory-mb', { requiresArg: true, default: d.workerMaxMemoryMb, describe: 'Heap limit of each worker thread (0 = Node default)' })
    .option('task-module', { requiresArg: true, type: 'string', array: true, default: [] as string[], describe: 'Your own task module(s), .ts or .js (syncTask/asyncTask at import), loaded here and in workers' })
    .option('stall-warn-ms', { requiresArg: true, default: d.stallWarnMs, describe: 'Warn (naming the running tasks) when the event loop is blocked this long (0 = off)' })
    .option('shutdown-grace-ms', { requiresArg: true, default: d.shutdownGraceMs, describe: 'On SIGINT/SIGTERM, how long unfinished tasks may run before they are cancelled' })
    .option('tls-cert', { requiresArg: true, type: 'string', describe: 'PEM certificate chain: serve TLS (with --tls-key)' })
    .option('tls-key', { requiresArg: true, type: 'string', describe: 'PEM private key of --tls-cert' })
    .option('tls-ca-cert', { requiresArg: true, type: 'string', describe: 'PEM CA: require client certificates it signed (mTLS)' })
    .option('auth-token', { requiresArg: true, type: 'string', array: true, describe: 'Require "authorization: Bearer <token>" (repeatable); prefer the env var or --auth-token-file' })
    .option('auth-token-file', { requiresArg: true, type: 'string', describe: 'File of accepted bearer tokens, one per line (# comments)' })
    .option('metrics-addr', { requiresArg: true, type: 'string', default: '', describe: 'Serve Prometheus metrics at http://host:port/metrics (a bare port means 127.0.0.1); empty: off' })
    .option('store', {
      requiresArg: true,
      type: 'string',
      default: d.store,
      describe: 'Result store: memory (lost at exit); sqlite:<path> (embedded, durable: tasks and results survive a crash or restart); or a Redis URL redis://[:password@]host:port[/db] (rediss:// for TLS) shared by replicas',
    })
    .option('sqlite-synchronous', {
      requiresArg: true,
      type: 'string',
      choices: ['normal', 'full'],
      default: d.sqliteSynchronous,
      describe: 'With sqlite: normal = a commit survives the process crashing; full = it also survives power loss (an fsync per commit, slower)',
    })
    .option('redis-prefix', { requiresArg: true, type: 'string', default: d.redisPrefix, describe: 'Prefix of the Redis keys and channels (deployments sharing one Redis use different ones)' })
    .option('lease-ms', { requiresArg: true, default: d.leaseMs, describe: 'With Redis: a replica silent this long is lost; another takes over its tasks that can run again, the rest become FAILED' })
    .option('dashboard-addr', { requiresArg: true, type: 'string', default: '', describe: 'Serve the read-only web dashboard at http://host:port/ (a bare port means 127.0.0.1); empty: off' })
    .option('dashboard-history', { requiresArg: true, default: d.dashboardHistory, describe: 'Most recent tasks the dashboard lists (bounded memory)' })
    .option('dashboard-history-bytes', { requiresArg: true, default: d.dashboardHistoryBytes, describe: "Most heap bytes the dashboard's task history holds (ids, deps, args, errors counted); the oldest tasks go first" })
    .option('otlp-endpoint', {
      requiresArg: true,
      type: 'string',
      default: '',
      describe: 'OpenTelemetry tracing: send spans over OTLP/HTTP to this collector (base URL, e.g. http://127.0.0.1:4318); also on with OTEL_EXPORTER_OTLP_ENDPOINT. Off by default',
    })
    .option('cli', { alias: 'c', type: 'boolean', default: false, describe: 'Interactive console beside the server (help, list, plugins, load, unload, reload, exit)' })
    .option('log-level', { requiresArg: true, type: 'string', choices: LOG_LEVELS, default: 'info', describe: 'Log level (per-task lines are debug)' })
    .option('log-dir', { requiresArg: true, type: 'string', default: 'logs', describe: 'Directory for a timestamped JSON-lines log file per run; empty: no file' })
    .option('log-file', { requiresArg: true, type: 'string', describe: 'Log to this file instead (appends)' })
    .strict()
    .version('version', 'Print the version and exit', packageVersion())
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
  if (failure) throw new Error(explainFailure(failure));
  if (parsed['help'] || parsed['version']) return undefined;
  for (const [key, value] of Object.entries(parsed)) {
    // Keys as given (kebab-case), not yargs' camelCase copies or one-letter aliases.
    if (Array.isArray(value) && key.length > 1 && key !== '_' && !/[A-Z]/.test(key) && !REPEATABLE.has(key)) {
      throw new Error(`--${key} was given more than once (${value.map((item) => JSON.stringify(item)).join(', ')}): give it once`);
    }
  }
  const addr = serveAddress('addr', parsed['addr']);
  const tls = tlsFiles(parsed['tls-cert'], parsed['tls-key'], parsed['tls-ca-cert']);
  const givenTokens = (parsed['auth-token'] as string[] | undefined) ?? [];
  // Fail closed: an empty token (a shell variable that expanded to nothing) must not start without auth.
  if (givenTokens.some((token) => token === '')) {
    throw new Error('--auth-token is empty (from the flag or TASK_SCHEDULER_AUTH_TOKEN): give a token, or leave both out to run without auth');
  }
  const authTokens = [...givenTokens, ...tokensFromFile(parsed['auth-token-file'])];
  for (const token of authTokens) {
    if (/\s/.test(token)) throw new Error('--auth-token: a token must not contain whitespace');
  }
  const metricsAddr = serveAddress('metrics-addr', parsed['metrics-addr'] ?? '');
  const store = String(parsed['store'] ?? 'memory');
  if (store !== 'memory' && !/^rediss?:\/\/[^/]/i.test(store) && !/^sqlite:.+/.test(store)) {
    throw new Error(`--store must be memory, sqlite:<path> or a Redis URL (redis://host:port, rediss://host:port), got ${JSON.stringify(store)}`);
  }
  const leaseMs = positiveInt('lease-ms')(parsed['lease-ms']);
  if (leaseMs < 100) throw new Error(`--lease-ms must be at least 100, got ${leaseMs}`);
  const dashboardAddr = serveAddress('dashboard-addr', parsed['dashboard-addr'] ?? '');
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
    priorityAgingMs: positiveInt('priority-aging-ms')(parsed['priority-aging-ms']),
    methodConcurrency: methodMap('method-concurrency', parsed['method-concurrency'], (text, what) => {
      const n = /^\d{1,7}$/.test(text) ? Number(text) : NaN;
      if (!(n >= 1 && n <= 1_000_000)) throw new Error(`${what}: '${text}' must be a whole number from 1 to 1000000`);
      return n;
    }),
    keyConcurrency: nonNegativeInt('key-concurrency')(parsed['key-concurrency']),
    methodRateLimits: methodMap('method-rate-limit', parsed['method-rate-limit'], flagRateLimit),
    keyRateLimit: parsed['key-rate-limit'] === '' || parsed['key-rate-limit'] === undefined ? undefined : flagRateLimit(String(parsed['key-rate-limit']), '--key-rate-limit'),
    maxScheduleAheadMs: positiveInt('max-schedule-ahead-ms')(parsed['max-schedule-ahead-ms']),
    maxDependentTasks: nonNegativeInt('max-dependent-tasks')(parsed['max-dependent-tasks']),
    maxUnfinishedBytes: nonNegativeInt('max-unfinished-bytes')(parsed['max-unfinished-bytes']),
    maxDependencyTimeoutMs,
    maxExecutionTimeoutMs,
    maxAttempts: positiveInt('max-attempts')(parsed['max-attempts']),
    maxParkedWaits: nonNegativeInt('max-parked-waits')(parsed['max-parked-waits']),
    maxParkedWaitsPerConnection: nonNegativeInt('max-parked-waits-per-connection')(parsed['max-parked-waits-per-connection']),
    maxStreamsPerConnection: positiveInt('max-streams-per-connection')(parsed['max-streams-per-connection']),
    maxSessionMemoryMb: positiveInt('max-session-memory-mb')(parsed['max-session-memory-mb']),
    maxConnections: nonNegativeInt('max-connections')(parsed['max-connections']),
    connectionIdleTimeoutMs: nonNegativeInt('connection-idle-timeout-ms')(parsed['connection-idle-timeout-ms']),
    handshakeTimeoutMs: nonNegativeInt('handshake-timeout-ms')(parsed['handshake-timeout-ms']),
    keepaliveTimeMs: nonNegativeInt('keepalive-time-ms')(parsed['keepalive-time-ms']),
    maxUnreadBytesPerConnection: nonNegativeInt('max-unread-bytes-per-connection')(parsed['max-unread-bytes-per-connection']),
    maxUnreadBytes: nonNegativeInt('max-unread-bytes')(parsed['max-unread-bytes']),
    writeTimeoutMs: nonNegativeInt('write-timeout-ms')(parsed['write-timeout-ms']),
    maxBatchTasks: positiveInt('max-batch-tasks')(parsed['max-batch-tasks']),
    maxWatchBuffer: positiveInt('max-watch-buffer')(parsed['max-watch-buffer']),
    awaitUnknownDeps: parsed['await-unknown-deps'] === true,
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
    dashboardHistoryBytes: positiveInt('dashboard-history-bytes')(parsed['dashboard-history-bytes']),
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

/** yargs' "Not enough arguments following: addr" in the words of the rest of our messages. */
function explainFailure(message: string): string {
  const bare = /^Not enough arguments following: (\S+)$/.exec(message);
  if (!bare) return message;
  const flag = bare[1]!.length === 1 ? `-${bare[1]}` : `--${bare[1]}`;
  return `${flag} needs a value (an empty one is written ${flag} '')`;
}

/**
 * The address flags (`--addr`, `--metrics-addr`, `--dashboard-addr`), one parser for all: `host:port`
 * as given, or a bare `port` / `:port` on 127.0.0.1 (loopback: nothing is exposed by accident). Empty:
 * off, for the flags that may be off. Errors name the flag.
 */
export function serveAddress(flag: string, value: unknown): string {
  const text = String(value);
  if (text === '') {
    if (flag === 'addr') throw new Error('--addr: the listen address must not be empty');
    return '';
  }
  const bare = /^:?(\d{1,5})$/.exec(text);
  const address = bare ? `127.0.0.1:${bare[1]}` : text;
  try {
    parseListenAddress(address);
  } catch (err) {
    throw new Error(`--${flag}: ${err instanceof Error ? err.message : String(err)}`);
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
