import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { QueueStats } from '../engine/scheduler-types';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Scheduler } from '../engine/scheduler';
import type { SchedulerObserver } from '../engine/scheduler-types';
import type { ResultStore } from '../results/result-store';
import type { TaskRecord } from '../results/task-record';
import { formatListenAddress, parseListenAddress } from '../server/listen-address';
import type { TaskPool } from '../tasks/pool/task-pool';
import { PairTally } from './pair-tally';


/** Most concurrency-key series exported (label cardinality stays bounded). */
const MAX_KEY_SERIES = 100;
/** What the metrics read from. */
export interface MetricsSources {
  readonly scheduler: () => Scheduler;
  readonly results: ResultStore;
  readonly pool: TaskPool | undefined;
}

/** Prometheus metrics of one server: an engine observer, a call counter and an HTTP endpoint. */
export interface Metrics {
  readonly registry: Registry;
  /** Counts finished tasks by method and outcome, their run time, attempts and retries. */
  readonly observer: SchedulerObserver;
  /** Counts gRPC calls by RPC and status name. */
  readonly countCall: (rpc: string, code: string) => void;
  /** Serves `GET /metrics` on `host:port`; resolves with the real address. */
  listen(address: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Builds the metrics (prom-client): tasks by method and outcome, attempts and retries by method,
 * run-time histogram, running / waiting / in-flight tasks, stored results, worker-pool use, gRPC calls
 * by code, and Node's default process metrics (event-loop delay among them). Gauges are read at scrape time: nothing on the hot path but a
 * counter and a histogram observation per task.
 */
export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });

  // Counters are tallied as plain numbers per call and copied into prom-client at scrape (see PairTally).
  const finished = tallyCounter(registry, 'task_scheduler_tasks_total', 'Finished tasks by method and outcome', ['method', 'status']);
  const callTally = tallyCounter(registry, 'task_scheduler_grpc_requests_total', 'gRPC calls by RPC and status code', ['rpc', 'code']);
  const attempts = methodCounter(registry, 'task_scheduler_task_attempts_total', 'Attempts of tasks that ended (failed and retried, or final), by method');
  const retries = methodCounter(registry, 'task_scheduler_task_retries_total', 'Retries scheduled after a failed attempt, by method');
  const duration = new Histogram({
    name: 'task_scheduler_task_duration_seconds',
    help: 'Run time of tasks that started (RUNNING to finished), by method',
    labelNames: ['method'] as const,
    buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [registry],
  });

  const stats = () => sources.scheduler().stats();
  new Gauge({ name: 'task_scheduler_tasks_running', help: 'Tasks running now', registers: [registry], collect() { this.set(stats().running); } });
  new Gauge({ name: 'task_scheduler_tasks_in_flight', help: 'Accepted tasks not yet finished', registers: [registry], collect() { this.set(stats().inFlight); } });
  new Gauge({
    name: 'task_scheduler_tasks_waiting',
    help: 'Tasks waiting, by what they wait for (queue depth)',
    labelNames: ['for'] as const,
    registers: [registry],
    collect() {
      const current = stats();
      this.set({ for: 'dependencies' }, current.waitingForDeps);
      this.set({ for: 'slot' }, current.waitingForSlot);
    },
  });
  // Scheduling (README "Scheduling"): read at scrape from one walk of the queue and the tasks in flight.
  let queue: QueueStats | undefined;
  const queueStats = (): QueueStats => (queue ??= sources.scheduler().queueStats());
  new Gauge({
    name: 'task_scheduler_method_queue_depth',
    help: 'Tasks waiting for a slot, by method',
    labelNames: ['method'] as const,
    registers: [registry],
    collect() {
      queue = undefined; // the first scheduling gauge of a scrape reads afresh
      this.reset();
      for (const [method, waiting] of queueStats().waitingByMethod) this.set({ method }, waiting);
    },
  });
  new Gauge({
    name: 'task_scheduler_method_paused',
    help: 'Paused methods (1 each): they accept tasks but start none',
    labelNames: ['method'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const method of queueStats().paused) this.set({ method }, 1);
    },
  });
  new Gauge({
    name: 'task_scheduler_key_running',
    help: `Running tasks by concurrency key on this replica (the ${MAX_KEY_SERIES} busiest keys)`,
    labelNames: ['key'] as const,
    registers: [registry],
    collect() {
      this.reset();
      const keys = [...queueStats().keys].filter(([, counts]) => counts.running > 0).sort(([, a], [, b]) => b.running - a.running).slice(0, MAX_KEY_SERIES);
      for (const [key, counts] of keys) this.set({ key }, counts.running);
    },
  });
  new Gauge({ name: 'task_scheduler_tasks_delayed', help: 'Tasks waiting for their start time or a retry backoff', registers: [registry], collect() { this.set(queueStats().delayed); } });
  new Gauge({ name: 'task_scheduler_results_stored', help: 'Task records held by the result store', registers: [registry], async collect() { this.set((await sources.results.stats()).count); } });
  new Gauge({ name: 'task_scheduler_results_bytes', help: 'Approximate bytes held by the result store', registers: [registry], async collect() { this.set((await sources.results.stats()).bytes); } });
  new Gauge({ name: 'task_scheduler_worker_pool_busy', help: 'Worker-pool tasks running or queued', registers: [registry], collect() { this.set(sources.pool?.busy ?? 0); } });

  // The histogram's labelled child per method, looked up by the method's own (registry-interned) string.
  const durationChildren = new Map<string, { observe(value: number): void }>();

  let http: HttpServer | undefined;
  return {
    registry,
    observer: {
      taskFinished(record: TaskRecord, runMs: number | undefined): void {
        finished.add(record.method, record.status);
        // runMs is set when an attempt was running at the finish (not for a task that never started, nor
        // for one cancelled while it waited for a retry: that attempt was counted when it failed).
        if (runMs !== undefined) {
          cached(durationChildren, record.method, () => duration.labels(record.method)).observe(runMs / 1000);
          countIn(attempts, record.method);
        }
      },
      taskRetrying(record: TaskRecord): void {
        countIn(attempts, record.method);
        countIn(retries, record.method);
      },
    },
    countCall(rpc: string, code: string): void {
      callTally.add(rpc, code);
    },
    async listen(address: string): Promise<string> {
      const { host, port } = parseListenAddress(address);
      http = createHttpServer((req, res) => {
        if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('Not found: metrics are at GET /metrics\n');
          return;
        }
        registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`),
        );
      });
      const server = http;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => resolve());
      });
      const bound = server.address();
      return formatListenAddress({ host, port: typeof bound === 'object' && bound ? bound.port : port });
    },
    async close(): Promise<void> {
      const server = http;
      http = undefined;
      if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
      registry.clear();
    },
  };
}

function cached<V>(map: Map<string, V>, key: string, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** Adds one to `method`'s count. */
function countIn(counts: Map<string, { count: number }>, method: string): void {
  const cell = counts.get(method);
  if (cell === undefined) counts.set(method, { count: 1 });
  else cell.count++;
}

/** A counter labelled by `method` whose values live in a plain map (as {@link PairTally}), read into prom-client at scrape. */
function methodCounter(registry: Registry, name: string, help: string): Map<string, { count: number }> {
  const counts = new Map<string, { count: number }>();
  new Counter({
    name,
    help,
    labelNames: ['method'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [method, cell] of counts) this.inc({ method }, cell.count);
    },
  });
  return counts;
}

/** A counter with two labels whose values live in a {@link PairTally}, read into prom-client at scrape. */
function tallyCounter(registry: Registry, name: string, help: string, labelNames: readonly [string, string]): PairTally {
  const tally = new PairTally();
  const [first, second] = labelNames;
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [a, b, count] of tally.entries()) this.inc({ [first]: a, [second]: b }, count);
    },
  });
  return tally;
}
