import { availableParallelism } from 'node:os';
import { ScheduleRunner } from './scheduling/schedule-runner';
import { MemoryScheduleStore } from './scheduling/schedule-store';
import { createAdminService, createScheduleFire, type AdminService } from './server/admin-service';
import { createTaskSubmitter } from './server/task-scheduler-service';
import type { RateLimit } from './engine/queue/rate-limit';
import { DEFAULT_MAX_SCHEDULE_AHEAD_MS } from './engine/queue/start-time';
import path from 'node:path';
import { DEFAULT_DECODE_LIMITS } from './args/decode-arg';
import { combineObservers } from './engine/combine-observers';
import { DEFAULT_MAX_BATCH_TASKS } from './engine/batch-acceptance';
import { createScheduler, type Scheduler } from './engine/scheduler';
import { LongInlineRuns } from './engine/long-inline-runs';
import { DEFAULT_MAX_WATCH_BUFFER } from './engine/task-watch';
import { startStallWatchdog, type StallWatchdog } from './engine/watchdog';
import { DashboardApi } from './dashboard/dashboard-api';
import { DashboardServer } from './dashboard/dashboard-server';
import { DEFAULT_HISTORY_BYTES, TaskHistory } from './dashboard/task-history';
import { silentLogger, type Logger } from './logging/logger';
import { HealthState } from 'nice-grpc-server-health';
import { TaskSchedulerDefinition } from '../generated/taskscheduler/task_scheduler';
import { createMetrics, type Metrics } from './metrics/create-metrics';
import { PluginManager } from './plugins/plugin-manager';
import type { TlsFiles } from './server/tls';
import { MemoryResultStore, DEFAULT_MEMORY_STORE_OPTIONS } from './results/memory-result-store';
import type { ResultStore } from './results/result-store';
import { DEFAULT_LEASE_MS, DEFAULT_REDIS_PREFIX, RedisResultStore } from './results/redis-result-store';
import { SqliteResultStore } from './results/sqlite-result-store';
import { createTaskSchedulerServer, type TaskSchedulerServer } from './server/create-server';
import { parseListenAddress } from './server/listen-address';
import { DEFAULT_REQUEST_LIMITS } from './server/request-limits';
import { DEFAULT_WAIT_LIMITS } from './server/parked-waits';
import { DEFAULT_CONNECTION_LIMITS, guardConnections, type ConnectionGuard } from './server/connection-limits';
import { DEFAULT_RESPONSE_BUFFER_LIMITS } from './server/response-buffers';
import { logTlsHandshakeFailures, type TlsHandshakeLog } from './server/tls-handshake-log';
import { TaskPool } from './tasks/pool/task-pool';
import { registerBuiltinTasks } from './tasks/builtins';
import { loadTaskModule } from './tasks/load-task-module';
import { defaultRegistry, TaskRegistry } from './tasks/task-registry';
import { DEFAULT_MAX_ATTEMPTS } from './tasks/retry-policy';
import { createTaskTracing } from './tracing/task-tracing';

/** Settings of a Task Scheduler instance (the CLI maps its flags onto these). */
export interface AppConfig {
  /** Plugin directory; empty string: load no plugins. Default `./libraries`. */
  readonly libraryDir: string;
  /** Default max wait for unfinished dependencies, ms. */
  readonly dependencyTimeoutMs: number;
  /** Default max run time of a task, ms; 0 = none. */
  readonly executionTimeoutMs: number;
  /** Result time-to-live, seconds; 0 = never expire (still bounded by count and bytes). */
  readonly resultTtlSecs: number;
  /** Most results kept. */
  readonly maxResults: number;
  /** Most bytes of results kept (approximate). */
  readonly maxResultBytes: number;
  /** Deepest argument nesting accepted. */
  readonly maxArgDepth: number;
  /** Largest request message, bytes (beyond: RESOURCE_EXHAUSTED from gRPC itself). */
  readonly maxMessageBytes: number;
  /** Most arguments in one request. */
  readonly maxArgs: number;
  /** Most dependencies in one request. */
  readonly maxDeps: number;
  /** Longest task id, characters (client-chosen ids and dependency ids). */
  readonly maxTaskIdLength: number;
  /** Largest string (UTF-8 bytes) or bytes argument value, map keys included. */
  readonly maxStringBytes: number;
  /** Most entries in one map/struct argument. */
  readonly maxMapEntries: number;
  /** On close, how long unfinished tasks may run before they are cancelled, ms. */
  readonly shutdownGraceMs: number;
  /** Most tasks running at once; 0 = unlimited. */
  readonly maxConcurrentTasks: number;
  /** Most tasks waiting for a slot; beyond: RESOURCE_EXHAUSTED. 0 = unlimited. */
  readonly maxQueuedTasks: number;
  /** Waiting this long for a slot counts as one priority level (README "Scheduling"). */
  readonly priorityAgingMs: number;
  /** Per-method running limits, over the registrations' `maxConcurrency` (with Redis: across replicas). */
  readonly methodConcurrency: ReadonlyMap<string, number>;
  /** Most running tasks per concurrency key; 0 = unlimited. */
  readonly keyConcurrency: number;
  /** Per-method start rates, over the registrations' `rateLimit` (with Redis: across replicas). */
  readonly methodRateLimits: ReadonlyMap<string, RateLimit>;
  /** Start rate per concurrency key (with Redis: across replicas); undefined: none. */
  readonly keyRateLimit: RateLimit | undefined;
  /** Furthest start time a request may ask for, ms ahead. */
  readonly maxScheduleAheadMs: number;
  /** Most tasks waiting for unfinished dependencies; beyond: RESOURCE_EXHAUSTED. 0 = unlimited. */
  readonly maxDependentTasks: number;
  /** Most bytes held by accepted unfinished tasks (dependents: at most half); beyond: RESOURCE_EXHAUSTED. 0 = unlimited. */
  readonly maxUnfinishedBytes: number;
  /** Largest `dependency_timeout_ms` a request may ask for, ms. */
  readonly maxDependencyTimeoutMs: number;
  /** Largest `execution_timeout_ms` a request may ask for, ms. */
  readonly maxExecutionTimeoutMs: number;
  /** Largest `max_attempts` a request's retry policy may ask for. */
  readonly maxAttempts: number;
  /** Most WaitResult calls parked at once, in all / per connection; 0 = no cap. */
  readonly maxParkedWaits: number;
  readonly maxParkedWaitsPerConnection: number;
  /** HTTP/2 concurrent streams per connection. */
  readonly maxStreamsPerConnection: number;
  /** Buffered bytes per HTTP/2 session (MiB) beyond which its new streams are refused. */
  readonly maxSessionMemoryMb: number;
  /** A connection without calls is closed after this long, ms; 0 = never. */
  readonly connectionIdleTimeoutMs: number;
  /** A connection that sent no byte is closed after this long, ms; 0 = never. */
  readonly handshakeTimeoutMs: number;
  /** Most connections open on the gRPC port; 0 = auto (80% of the open-file limit). */
  readonly maxConnections: number;
  /** Server keepalive PING interval on quiet connections, ms; 0 = none. */
  readonly keepaliveTimeMs: number;
  /** Unread GetResult/WaitResult response bytes per connection / in all; 0 = unbounded. */
  readonly maxUnreadBytesPerConnection: number;
  readonly maxUnreadBytes: number;
  /** A connection whose unread responses made no progress for this long is closed, ms; 0 = never. */
  readonly writeTimeoutMs: number;
  /** Most tasks in one SubmitTasks (and ids in one WatchTasks). */
  readonly maxBatchTasks: number;
  /** Most events a WatchTasks stream holds for a slow reader. */
  readonly maxWatchBuffer: number;
  /** Wait for dependencies not known yet (the default of a request's `await_unknown_deps`). */
  readonly awaitUnknownDeps: boolean;
  /** Worker threads for CPU-bound sync tasks (`worker: true`); 0 = run them inline. */
  readonly workerThreads: number;
  /** Heap limit per worker thread, MB; 0 = Node's default. */
  readonly workerMaxMemoryMb: number;
  /** User task modules to load (here and in the worker threads); they register with syncTask/asyncTask. */
  readonly taskModules: readonly string[];
  /** TLS certificate and key (and a CA for mTLS); plaintext when undefined. */
  readonly tls: TlsFiles | undefined;
  /** Bearer tokens clients must send; empty: no authentication. */
  readonly authTokens: readonly string[];
  /** Prometheus endpoint `host:port` (served by `App.start`); empty: no metrics. */
  readonly metricsAddr: string;
  /** Warn when the event loop is blocked this long, naming the running tasks; 0 = no watchdog. */
  readonly stallWarnMs: number;
  /**
   * Result store: `memory` (embedded, default), `sqlite:<path>` (embedded and durable: accepted tasks
   * and results survive a crash or restart) or a Redis URL (`redis://…`, `rediss://…`) shared by replicas.
   */
  readonly store: string;
  /** With `sqlite:`: `normal` survives a process crash; `full` also survives power loss (an fsync per commit). */
  readonly sqliteSynchronous: 'normal' | 'full';
  /** Prefix of the Redis keys and channels (several deployments can share one Redis). */
  readonly redisPrefix: string;
  /** With Redis: how long a replica owns its unfinished tasks without renewing; lost after that. */
  readonly leaseMs: number;
  /** Web dashboard `host:port` (served by `App.start`); empty: no dashboard. */
  readonly dashboardAddr: string;
  /** Most recent tasks the dashboard keeps (bounded history). */
  readonly dashboardHistory: number;
  /** Most heap bytes the dashboard's history holds (its entries' strings and arrays counted). */
  readonly dashboardHistoryBytes: number;
  /**
   * OpenTelemetry tracing is on (the CLI registers the SDK first): spans for calls and tasks, and trace
   * contexts kept on records. Off: none of it exists.
   */
  readonly tracing: boolean;
}

/** Defaults of {@link AppConfig} (SPEC §6). */
export const DEFAULT_APP_CONFIG: AppConfig = Object.freeze({
  libraryDir: './libraries',
  dependencyTimeoutMs: 30_000,
  executionTimeoutMs: 0,
  resultTtlSecs: 600,
  maxResults: DEFAULT_MEMORY_STORE_OPTIONS.maxCount,
  maxResultBytes: DEFAULT_MEMORY_STORE_OPTIONS.maxBytes,
  maxArgDepth: DEFAULT_DECODE_LIMITS.maxDepth,
  maxMessageBytes: 4 * 1024 * 1024,
  maxArgs: DEFAULT_REQUEST_LIMITS.maxArgs,
  maxDeps: DEFAULT_REQUEST_LIMITS.maxDeps,
  maxTaskIdLength: DEFAULT_REQUEST_LIMITS.maxTaskIdLength,
  maxStringBytes: DEFAULT_DECODE_LIMITS.maxStringBytes,
  maxMapEntries: DEFAULT_DECODE_LIMITS.maxMapEntries,
  shutdownGraceMs: 10_000,
  maxConcurrentTasks: 0,
  maxQueuedTasks: 100_000,
  priorityAgingMs: 1_000,
  methodConcurrency: new Map<string, number>(),
  keyConcurrency: 0,
  methodRateLimits: new Map<string, RateLimit>(),
  keyRateLimit: undefined,
  maxScheduleAheadMs: DEFAULT_MAX_SCHEDULE_AHEAD_MS,
  maxDependentTasks: 100_000,
  maxUnfinishedBytes: 256 * 1024 * 1024,
  maxDependencyTimeoutMs: DEFAULT_REQUEST_LIMITS.maxDependencyTimeoutMs,
  maxExecutionTimeoutMs: DEFAULT_REQUEST_LIMITS.maxExecutionTimeoutMs,
  maxAttempts: DEFAULT_MAX_ATTEMPTS,
  ...DEFAULT_WAIT_LIMITS,
  ...DEFAULT_CONNECTION_LIMITS,
  ...DEFAULT_RESPONSE_BUFFER_LIMITS,
  maxBatchTasks: DEFAULT_MAX_BATCH_TASKS,
  maxWatchBuffer: DEFAULT_MAX_WATCH_BUFFER,
  awaitUnknownDeps: false,
  workerThreads: availableParallelism(),
  workerMaxMemoryMb: 512,
  taskModules: [],
  tls: undefined,
  authTokens: [],
  metricsAddr: '',
  stallWarnMs: 500,
  store: 'memory',
  sqliteSynchronous: 'normal',
  redisPrefix: DEFAULT_REDIS_PREFIX,
  leaseMs: DEFAULT_LEASE_MS,
  dashboardAddr: '',
  dashboardHistory: 10_000,
  dashboardHistoryBytes: DEFAULT_HISTORY_BYTES,
  tracing: false,
});

/** What {@link buildApp} takes besides settings. */
export interface AppDeps {
  readonly logger?: Logger;
  /**
   * Registry to serve. Default: the process-wide `defaultRegistry` (which `syncTask`/`asyncTask` fill
   * at import), with the built-ins added once.
   */
  readonly registry?: TaskRegistry;
  /** Result store; default an in-memory one bounded by the config. */
  readonly results?: ResultStore;
}

/** A built Task Scheduler: every part, not yet listening. */
export interface App {
  readonly config: AppConfig;
  readonly registry: TaskRegistry;
  readonly results: ResultStore;
  readonly scheduler: Scheduler;
  readonly server: TaskSchedulerServer;
  /** Plugins of `libraryDir` (load/unload/reload at run time). */
  readonly plugins: PluginManager;
  /** Worker threads for CPU-bound sync tasks (absent when `workerThreads` is 0). */
  readonly pool: TaskPool | undefined;
  /** Serving status (grpc.health.v1): SERVING once built, NOT_SERVING from the start of close. */
  readonly health: HealthState;
  /** Prometheus metrics, when `metricsAddr` is set. */
  readonly metrics: Metrics | undefined;
  /** The web dashboard, when `dashboardAddr` is set. */
  readonly dashboard: DashboardServer | undefined;
  /** Recurring schedules (TaskSchedulerAdmin, console). */
  readonly schedules: ScheduleRunner;
  /** TaskSchedulerAdmin's implementation (served over gRPC; the console calls it too). */
  readonly admin: AdminService;
  readonly logger: Logger;
  /** The event-loop stall watchdog: running between `start` and `close` when `stallWarnMs` > 0. */
  readonly watchdog: StallWatchdog | undefined;
  /**
   * Listens: the gRPC server on `address` and, when configured, the metrics endpoint and the dashboard.
   * Resolves with the real addresses.
   */
  start(address: string): Promise<{ grpc: string; metrics: string | undefined; dashboard: string | undefined }>;
  /**
   * Graceful stop: health turns NOT_SERVING, new submissions get UNAVAILABLE, tasks not yet running are
   * cancelled, running ones get `shutdownGraceMs` to finish and are then cancelled; then the gRPC
   * server, worker threads, metrics, dashboard and store close.
   */
  close(): Promise<void>;
}

let builtinsInDefaultRegistry = false;

/** `--store sqlite:<path>`. */
export const SQLITE_PREFIX = 'sqlite:';

/** The result store the config names: in memory, SQLite, or Redis shared by replicas. */
function createResultStore(config: AppConfig, logger: Logger): ResultStore {
  const ttlMs = config.resultTtlSecs * 1000;
  if (config.store === 'memory' || config.store === '') {
    return new MemoryResultStore({ maxCount: config.maxResults, maxBytes: config.maxResultBytes, ttlMs });
  }
  if (config.store.startsWith(SQLITE_PREFIX)) {
    return new SqliteResultStore({
      path: config.store.slice(SQLITE_PREFIX.length),
      ttlMs,
      maxCount: config.maxResults,
      maxBytes: config.maxResultBytes,
      synchronous: config.sqliteSynchronous,
      logger,
    });
  }
  return new RedisResultStore({ url: config.store, prefix: config.redisPrefix, ttlMs, leaseMs: config.leaseMs, logger });
}

/**
 * Why the gRPC server could not bind: grpc-js wraps the socket errors as `No address added out of total
 * N resolved errors: [listen EADDRINUSE: address already in use 127.0.0.1:50051]`; the part in brackets
 * is the reason a user can act on.
 */
function bindFailureReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const reasons = /^No address added out of total \d+ resolved errors: \[(.+)\]$/s.exec(message);
  return reasons ? reasons[1]! : message;
}

/** A fresh registry holding the built-in tasks (for tests and embedders that want isolation). */
export function createBuiltinRegistry(): TaskRegistry {
  const registry = new TaskRegistry();
  registerBuiltinTasks(registry);
  return registry;
}

/** Builds every part of Task Scheduler from settings; call `app.server.listen(address)` to serve. */
export function buildApp(overrides: Partial<AppConfig> = {}, deps: AppDeps = {}): App {
  const config: AppConfig = { ...DEFAULT_APP_CONFIG, ...overrides };
  const logger = deps.logger ?? silentLogger;
  let registry = deps.registry;
  if (!registry) {
    registry = defaultRegistry;
    if (!builtinsInDefaultRegistry) {
      registerBuiltinTasks(registry);
      builtinsInDefaultRegistry = true;
    }
  }
  const taskModules = config.taskModules.map((module) => path.resolve(module));
  // TypeScript or JavaScript; each registers its tasks as it loads. A failure names the file and why.
  for (const module of taskModules) loadTaskModule(module);
  const pool = config.workerThreads > 0
    ? new TaskPool({
        threads: config.workerThreads,
        maxMemoryMb: config.workerMaxMemoryMb,
        taskModules,
        onError: (err) => logger.error('worker pool error', { component: 'pool', err }),
        onLoadFailure: (file, reason) => logger.error('plugin or task module failed to load in the worker threads; its worker tasks fail', { component: 'pool', file, reason }),
        onBroken: (reason) => logger.error(`${reason}: worker tasks fail at once until the plugins change (fresh threads are tried again after 10 s)`, { component: 'pool' }),
      })
    : undefined;
  // Workers load the same plugin code as the main thread; every load/unload/reload restarts them.
  const plugins = new PluginManager(config.libraryDir, registry, logger, (loaded) => pool?.setPlugins(loaded));
  plugins.loadAll();
  const results = deps.results ?? createResultStore(config, logger);
  // The scheduler is read lazily by the metrics (it is built after them, with their observer).
  let scheduler: Scheduler | undefined;
  const metrics = config.metricsAddr ? createMetrics({ scheduler: () => scheduler!, results, pool }) : undefined;
  // Without a dashboard no history exists, and the scheduler gets no accepted/started events at all.
  const history = config.dashboardAddr ? new TaskHistory(config.dashboardHistory, config.dashboardHistoryBytes) : undefined;
  const observer = combineObservers([metrics?.observer, history, config.tracing ? createTaskTracing() : undefined]);
  // Inline sync runs of at least a quarter of the stall threshold are noted for the watchdog to name.
  const longInlineRuns = config.stallWarnMs > 0 ? new LongInlineRuns(Math.max(1, Math.floor(config.stallWarnMs / 4))) : undefined;
  scheduler = createScheduler({
    registry,
    results,
    logger,
    dependencyTimeoutMs: config.dependencyTimeoutMs,
    executionTimeoutMs: config.executionTimeoutMs,
    maxConcurrentTasks: config.maxConcurrentTasks,
    maxQueuedTasks: config.maxQueuedTasks,
    maxDependentTasks: config.maxDependentTasks,
    maxUnfinishedBytes: config.maxUnfinishedBytes,
    maxAttempts: config.maxAttempts,
    maxBatchTasks: config.maxBatchTasks,
    maxWatchBuffer: config.maxWatchBuffer,
    awaitUnknownDeps: config.awaitUnknownDeps,
    traceTasks: config.tracing,
    scheduling: {
      agingMs: config.priorityAgingMs,
      methodConcurrency: config.methodConcurrency,
      keyConcurrency: config.keyConcurrency,
      methodRateLimits: config.methodRateLimits,
      keyRateLimit: config.keyRateLimit,
      globalLimits: results instanceof RedisResultStore ? results.globalLimits : undefined,
      maxScheduleAheadMs: config.maxScheduleAheadMs,
    },
    ...(pool ? { pool } : {}),
    ...(observer ? { observer } : {}),
    ...(longInlineRuns ? { longInlineRuns } : {}),
  });
  // Overall status ("") and per service, for probes that name the service.
  const health = HealthState();
  const setHealth = (status: 'healthy' | 'unhealthy') => {
    health.setStatus(status);
    health.setStatus(status, TaskSchedulerDefinition.fullName);
  };
  setHealth('healthy');
  const connectionLimits = Object.freeze({
    maxStreamsPerConnection: config.maxStreamsPerConnection,
    maxSessionMemoryMb: config.maxSessionMemoryMb,
    connectionIdleTimeoutMs: config.connectionIdleTimeoutMs,
    handshakeTimeoutMs: config.handshakeTimeoutMs,
    maxConnections: config.maxConnections,
    keepaliveTimeMs: config.keepaliveTimeMs,
  });
  const serviceDeps = {
    scheduler,
    registry,
    decodeLimits: Object.freeze({ maxDepth: config.maxArgDepth, maxStringBytes: config.maxStringBytes, maxMapEntries: config.maxMapEntries }),
    requestLimits: Object.freeze({
      maxArgs: config.maxArgs,
      maxDeps: config.maxDeps,
      maxTaskIdLength: config.maxTaskIdLength,
      maxDependencyTimeoutMs: config.maxDependencyTimeoutMs,
      maxExecutionTimeoutMs: config.maxExecutionTimeoutMs,
    }),
  };
  // Recurring schedules fire through the same checks as SubmitTask (see src/scheduling/).
  const submitter = createTaskSubmitter(serviceDeps);
  const schedules = new ScheduleRunner({ store: results.schedules ?? new MemoryScheduleStore(), fire: createScheduleFire(submitter), logger });
  const admin = createAdminService({ scheduler, schedules, submitter });
  const server = createTaskSchedulerServer({
    ...serviceDeps,
    logger,
    health,
    admin,
    waitLimits: Object.freeze({ maxParkedWaits: config.maxParkedWaits, maxParkedWaitsPerConnection: config.maxParkedWaitsPerConnection }),
    connectionLimits,
    responseBufferLimits: Object.freeze({ maxUnreadBytesPerConnection: config.maxUnreadBytesPerConnection, maxUnreadBytes: config.maxUnreadBytes, writeTimeoutMs: config.writeTimeoutMs }),
    maxMessageBytes: config.maxMessageBytes,
    maxBatchTasks: config.maxBatchTasks,
    tls: config.tls,
    authTokens: config.authTokens,
    ...(metrics ? { onCall: metrics.countCall } : {}),
    tracing: config.tracing,
  });
  const built: Scheduler = scheduler;
  let watchdog: StallWatchdog | undefined;
  let handshakeLog: TlsHandshakeLog | undefined;
  let connectionGuard: ConnectionGuard | undefined;
  const dashboard = history
    ? new DashboardServer({
        api: new DashboardApi({ scheduler: built, results, registry, plugins, pool, history, authRequired: config.authTokens.length > 0 }),
        authTokens: config.authTokens,
        tls: config.tls,
        logger,
      })
    : undefined;
  return {
    config,
    registry,
    results,
    scheduler: built,
    server,
    plugins,
    pool,
    health,
    metrics,
    dashboard,
    logger,
    schedules,
    admin,
    get watchdog() {
      return watchdog;
    },
    async start(address) {
      let grpc: string;
      if (results instanceof RedisResultStore && !(await results.ready(5_000))) {
        // Served anyway: calls that need Redis answer UNAVAILABLE until it is reachable.
        logger.warn('Redis is not reachable yet: serving anyway, calls that need it answer UNAVAILABLE until it is', { replica: results.replicaId, error: results.lastError });
      }
      if (results.unfinished) {
        // Before listening: every task accepted before a restart is in flight again (or ended) by the
        // time a client can ask about it.
        const began = performance.now();
        const unfinished = await results.unfinished();
        if (unfinished.length > 0) {
          const summary = await built.recover(unfinished, 'the server stopped');
          logger.info('recovered unfinished tasks from the store', { ...summary, ms: Math.round(performance.now() - began) });
        }
      }
      await schedules.start();
      try {
        grpc = await server.listen(address);
      } catch (err) {
        throw new Error(`cannot listen on ${address}: ${bindFailureReason(err)}`, { cause: err });
      }
      // grpc-js reports failed handshakes to nobody: log them (rate-limited) with the reason.
      // Connection limit and silent-connection timeout on the gRPC port (server/connection-limits.ts).
      if (!connectionGuard) {
        const guard = guardConnections({ port: parseListenAddress(grpc).port, limits: connectionLimits, logger: logger.child({ component: 'connections' }) });
        server.responseBuffers.closeConnection = (peer) => guard.destroy(peer);
        connectionGuard = guard;
      }
      if (config.tls && !handshakeLog) handshakeLog = logTlsHandshakeFailures({ port: parseListenAddress(grpc).port, logger: logger.child({ component: 'tls' }) });
      let metricsAddress: string | undefined;
      try {
        metricsAddress = metrics ? await metrics.listen(config.metricsAddr) : undefined;
      } catch (err) {
        await server.close(0);
        throw new Error(`cannot serve metrics on ${config.metricsAddr}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      let dashboardAddress: string | undefined;
      try {
        dashboardAddress = dashboard ? await dashboard.listen(config.dashboardAddr) : undefined;
      } catch (err) {
        await Promise.allSettled([server.close(0), metrics?.close()]);
        throw new Error(`cannot serve the dashboard on ${config.dashboardAddr}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (config.stallWarnMs > 0 && !watchdog) {
        watchdog = startStallWatchdog({
          stallMs: config.stallWarnMs,
          logger: logger.child({ component: 'watchdog' }),
          runningTasks: (limit) => built.runningTasks(limit),
          runningCount: () => built.stats().running,
          ...(longInlineRuns ? { longInlineRuns } : {}),
        });
      }
      return { grpc, metrics: metricsAddress, dashboard: dashboardAddress };
    },
    async close() {
      setHealth('unhealthy');
      watchdog?.stop();
      schedules.close();
      // Drain first, so every blocking caller gets its answer; then the calls still open are long
      // polls on finished tasks, which answer at once (a health Watch stream is cut after 1 s).
      await built.close(config.shutdownGraceMs);
      await server.close(1_000);
      handshakeLog?.close();
      connectionGuard?.close();
      await Promise.allSettled([pool?.close(), metrics?.close(), dashboard?.close(), results.close()]);
    },
  };
}
