import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { QueueStats } from '../engine/scheduler-types';
import type { Scheduler } from '../engine/scheduler-types';
import { StatusCode } from '../errors';
import type { PluginManager } from '../plugins/plugin-manager';
import type { ResultStore } from '../results/result-store';
import type { TaskPage } from '../results/task-query';
import type { AttemptError, TaskRecord, TaskStatus } from '../results/task-record';
import type { TaskPool } from '../tasks/pool/task-pool';
import type { TaskRegistry } from '../tasks/task-registry';
import { buildTaskGraph, DEFAULT_GRAPH_LIMITS, type GraphTask, type TaskGraph } from './task-graph';
import type { TaskHistory, TaskQuery, TaskSummary, TaskTotals } from './task-history';

/** What the dashboard reads. The engine is only read through its public API and the store's interface. */
export interface DashboardSources {
  readonly scheduler: Scheduler;
  readonly results: ResultStore;
  readonly registry: TaskRegistry;
  readonly plugins: PluginManager;
  readonly pool: TaskPool | undefined;
  readonly history: TaskHistory;
  /** Whether the dashboard asks for a token (the page then offers to log out). */
  readonly authRequired: boolean;
}

/** The overview panel. */
export interface Overview {
  readonly now: number;
  readonly startedAt: number;
  readonly uptimeSeconds: number;
  /** Tasks finished per second over the last few seconds. */
  readonly tasksPerSecond: number;
  readonly running: number;
  readonly pending: number;
  readonly waitingForDeps: number;
  readonly waitingForSlot: number;
  readonly totals: TaskTotals;
  /** Event-loop delay over the last sampling second, ms. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly results: { readonly count: number; readonly bytes: number };
  /** Worker threads and how many are busy (running or queued pool tasks); null without a pool. */
  readonly workerPool: { readonly threads: number; readonly busy: number } | null;
  readonly history: { readonly size: number; readonly capacity: number; readonly bytes: number; readonly maxBytes: number; readonly version: number };
  /** Scheduling (README "Scheduling"): paused methods, queue depth per method, busiest keys, delayed tasks. */
  readonly scheduling: {
    readonly paused: readonly string[];
    readonly waitingByMethod: Readonly<Record<string, number>>;
    readonly runningByKey: Readonly<Record<string, number>>;
    readonly delayed: number;
  };
  readonly authRequired: boolean;
}

/** A task's full detail. */
export interface TaskDetail {
  readonly task: TaskSummary & {
    /** The result (SUCCESS) or the task's own failure message, cut at {@link MAX_RESULT_CHARS}. */
    readonly result: string;
    readonly resultTruncated: boolean;
    /** Status name and message of a failure. */
    readonly failure: { readonly code: string; readonly message: string } | null;
    /** Whether the result store still holds the record (else the result is gone). */
    readonly stored: boolean;
    /** Whether the dashboard's bounded history still holds it (else args and run time are unknown). */
    readonly inHistory: boolean;
    /** Each failed attempt's error and when it ended, oldest first (the latest few; from the store). */
    readonly attemptErrors: readonly AttemptView[];
  };
  readonly dependencies: readonly TaskLink[];
  readonly dependents: readonly TaskLink[];
  /** Dependents not listed (beyond the per-task bound). */
  readonly moreDependents: number;
  /** The tasks accepted together with it in one SubmitTasks (itself included); empty for a task submitted alone. */
  readonly batch: readonly TaskLink[];
  /** Batch tasks not listed (beyond {@link MAX_LINKS}). */
  readonly moreBatch: number;
  /**
   * Where the dependents were found: `history` (recorded as they were accepted: complete up to the
   * bound), `store` (the task left the history: the history and up to {@link MAX_STORE_SCAN} later
   * records of the result store were searched), `partial` (as `store`, but more records were left
   * unsearched: older dependents may be missing, and the page says so).
   */
  readonly dependentsFrom: 'history' | 'store' | 'partial';
}

/** A failed attempt as the detail shows it. */
export interface AttemptView {
  readonly attempt: number;
  /** Epoch ms when the attempt ended. */
  readonly at: number;
  readonly error: string;
  /** Status name of the failure, when known. */
  readonly code: string | null;
}

/** Another task, named in a detail. */
export interface TaskLink {
  readonly taskId: string;
  readonly method: string;
  readonly status: TaskStatus | 'UNKNOWN';
}

/** Registered tasks and loaded plugins. */
export interface RegistryView {
  readonly tasks: ReadonlyArray<{ readonly name: string; readonly kind: 'sync' | 'async'; readonly worker: boolean; readonly source: string; readonly description: string }>;
  readonly plugins: ReadonlyArray<{ readonly name: string; readonly file: string; readonly tasks: readonly string[] }>;
}

/** Longest result shown in a detail. */
export const MAX_RESULT_CHARS = 65_536;
/** Most dependencies / dependents looked up for one detail. */
export const MAX_LINKS = 200;
/** Most tasks one list answer holds. */
export const MAX_LIST_LIMIT = 500;
/** Most result-store records searched for the dependents of a task that left the history. */
export const MAX_STORE_SCAN = 2_000;
const STORE_SCAN_PAGE = 500;
/** Most dependents the graph finds by scanning the history for a node that left it. */
const MAX_GRAPH_SCAN = 50;
const RATE_WINDOW_SAMPLES = 5;
/** Sampling period of the event-loop delay monitor, ms. */
const LOOP_RESOLUTION_MS = 10;

/**
 * The dashboard's read API: plain data for the JSON endpoints and the live stream. It reads the engine
 * through `Scheduler.getResult`/`stats` and the `ResultStore` interface (so it works with any store) and
 * its own {@link TaskHistory}; nothing here runs per task. A 1 s timer (unref'd) samples the finish rate
 * and the event-loop delay.
 */
export class DashboardApi {
  readonly #sources: DashboardSources;
  readonly #startedAt = Date.now();
  readonly #loopDelay: IntervalHistogram;
  readonly #timer: NodeJS.Timeout;
  /** (time, finished total) once a second, oldest first. */
  readonly #rateSamples: Array<{ at: number; finished: number }> = [];
  #lastDelay = { p50: 0, p99: 0, max: 0 };

  constructor(sources: DashboardSources) {
    this.#sources = sources;
    this.#loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.#loopDelay.enable();
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), 1000);
    this.#timer.unref();
  }

  /** Stops the sampler. */
  close(): void {
    clearInterval(this.#timer);
    this.#loopDelay.disable();
  }

  async overview(): Promise<Overview> {
    const { scheduler, results, pool, history } = this.#sources;
    const stats = scheduler.stats();
    const stored = await results.stats();
    const now = Date.now();
    const totals = history.totals();
    const first = this.#rateSamples[0];
    const finished = totals.succeeded + totals.failed + totals.cancelled;
    const seconds = first ? (now - first.at) / 1000 : 0;
    return {
      now,
      startedAt: this.#startedAt,
      uptimeSeconds: Math.floor((now - this.#startedAt) / 1000),
      tasksPerSecond: first && seconds > 0.5 ? round((finished - first.finished) / seconds, 1) : 0,
      running: stats.running,
      pending: stats.pending,
      waitingForDeps: stats.waitingForDeps,
      waitingForSlot: stats.waitingForSlot,
      totals,
      eventLoopDelayMs: this.#lastDelay,
      results: { count: stored.count, bytes: stored.bytes },
      workerPool: pool ? { threads: pool.threads, busy: pool.busy } : null,
      history: { size: history.size, capacity: history.capacity, bytes: history.bytes, maxBytes: history.maxBytes, version: history.version },
      authRequired: this.#sources.authRequired,
      scheduling: schedulingOf(scheduler.queueStats()),
    };
  }

  /** Recent tasks matching `query`, newest first, one page (`next`: the `before` of the next page). */
  tasks(query: TaskQuery): { readonly tasks: TaskSummary[]; readonly matched: number; readonly next: number | null; readonly methods: string[]; readonly version: number } {
    const { history } = this.#sources;
    const { tasks, matched, next } = history.query({ ...query, limit: Math.min(Math.max(query.limit, 1), MAX_LIST_LIMIT) });
    return { tasks, matched, next: next ?? null, methods: history.methods(), version: history.version };
  }

  /** A task's detail; undefined when neither the history nor the store knows it. */
  async task(taskId: string): Promise<TaskDetail | undefined> {
    const { scheduler, history } = this.#sources;
    const summary = history.get(taskId);
    const record = await scheduler.getResult(taskId);
    if (!summary && !record) return undefined;
    const base: TaskSummary = summary ?? summaryOf(record!);
    // The record is fresher than the history for status and result (it is the engine's own).
    const status = record?.status ?? base.status;
    const result = record?.result ?? '';
    const failure = record?.failure ?? undefined;
    const dependents = summary ? { ...history.dependentsOf(taskId), from: 'history' as const } : await this.#dependentsBeyondHistory(taskId, base.submittedAt);
    const batch = history.batchOf(taskId) ?? [];
    const [dependencies, dependentLinks, batchLinks] = await Promise.all([this.#links(base.deps), this.#links(dependents.ids), this.#links(batch)]);
    return {
      task: {
        ...base,
        status,
        startedAt: record?.startedAt ?? base.startedAt,
        finishedAt: record?.finishedAt ?? base.finishedAt,
        error: failure?.message ?? base.error,
        result: result.length > MAX_RESULT_CHARS ? result.slice(0, MAX_RESULT_CHARS) : result,
        resultTruncated: result.length > MAX_RESULT_CHARS,
        failure: failure ? { code: StatusCode[failure.code] ?? String(failure.code), message: failure.message } : null,
        stored: record !== undefined,
        inHistory: summary !== undefined,
        attempts: record?.attempts ?? base.attempts,
        attemptErrors: (record?.attemptErrors ?? []).map(attemptView),
      },
      dependencies,
      dependents: dependentLinks,
      moreDependents: dependents.more + Math.max(0, dependents.ids.length - MAX_LINKS),
      dependentsFrom: dependents.from,
      batch: batchLinks,
      moreBatch: Math.max(0, batch.length - MAX_LINKS),
    };
  }

  /**
   * Dependents of a task the history no longer holds (its own list of dependents went with it): the
   * history's entries that name it, then the result store's records submitted since it (a dependent is
   * always submitted after its dependency: deps must be known), newest first, up to
   * {@link MAX_STORE_SCAN} records.
   */
  async #dependentsBeyondHistory(taskId: string, submittedAt: number): Promise<{ ids: string[]; more: number; from: 'store' | 'partial' }> {
    const ids = new Set(this.#sources.history.scanDependents(taskId, MAX_LINKS));
    let cursor: TaskPage['next'];
    let scanned = 0;
    do {
      const page = await this.#sources.results.list({
        statuses: [],
        method: '',
        idPrefix: '',
        submittedAfter: submittedAt,
        submittedBefore: 0,
        limit: STORE_SCAN_PAGE,
        cursor,
      });
      for (const record of page.records) if (record.deps.includes(taskId)) ids.add(record.taskId);
      scanned += page.records.length;
      cursor = page.next;
    } while (cursor && scanned < MAX_STORE_SCAN && ids.size < MAX_LINKS);
    return { ids: [...ids], more: 0, from: cursor ? 'partial' : 'store' };
  }

  /** The laid-out dependency graph around a task; undefined when unknown. */
  graph(taskId: string, depth = DEFAULT_GRAPH_LIMITS.depth): Promise<TaskGraph | undefined> {
    const { history } = this.#sources;
    return buildTaskGraph(
      taskId,
      {
        task: (id) => this.#graphTask(id),
        // A task that left the history lost its own list: the history's entries that name it stand in.
        dependents: (id) => (history.get(id) ? history.dependentsOf(id).ids : history.scanDependents(id, MAX_GRAPH_SCAN)),
      },
      { depth, maxNodes: DEFAULT_GRAPH_LIMITS.maxNodes },
    );
  }

  registry(): RegistryView {
    const { registry, plugins } = this.#sources;
    return {
      tasks: registry.list().map((task) => ({
        name: task.name,
        kind: task.kind,
        worker: task.kind === 'sync' && task.worker === true,
        source: task.source,
        description: task.description,
      })),
      plugins: plugins.list().map((plugin) => ({ name: plugin.name, file: plugin.file, tasks: [...plugin.tasks] })),
    };
  }

  async #graphTask(taskId: string): Promise<GraphTask | undefined> {
    const summary = this.#sources.history.get(taskId);
    if (summary) return summary;
    const record = await this.#sources.scheduler.getResult(taskId);
    return record ? { method: record.method, status: record.status, deps: record.deps } : undefined;
  }

  async #links(ids: readonly string[]): Promise<TaskLink[]> {
    return Promise.all(
      ids.slice(0, MAX_LINKS).map(async (taskId): Promise<TaskLink> => {
        const known = await this.#graphTask(taskId);
        return { taskId, method: known?.method ?? '', status: known?.status ?? 'UNKNOWN' };
      }),
    );
  }

  #sample(): void {
    const totals = this.#sources.history.totals();
    this.#rateSamples.push({ at: Date.now(), finished: totals.succeeded + totals.failed + totals.cancelled });
    if (this.#rateSamples.length > RATE_WINDOW_SAMPLES) this.#rateSamples.shift();
    const h = this.#loopDelay;
    // Values are nanoseconds between the monitor's timer ticks, so the period itself is subtracted to
    // leave the delay; an empty histogram reports NaN or huge values, shown as 0.
    const ms = (ns: number) => (Number.isFinite(ns) && h.count > 0 ? round(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS), 2) : 0);
    this.#lastDelay = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) };
    h.reset();
  }
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** A summary for a task the history no longer holds (args unknown: only the engine's digest is stored). */
function summaryOf(record: TaskRecord): TaskSummary {
  const json = record.argsDigest.startsWith('[');
  return {
    taskId: record.taskId,
    method: record.method,
    status: record.status,
    deps: record.deps,
    args: json ? record.argsDigest : '',
    argsTruncated: !json,
    submittedAt: record.submittedAt,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    runMs: undefined,
    error: record.failure?.message,
    attempts: record.attempts,
    seq: -1,
  };
}

/** Keys shown on the overview (the busiest). */
const MAX_KEYS_SHOWN = 10;

function schedulingOf(stats: QueueStats): Overview['scheduling'] {
  const keys = [...stats.keys].filter(([, counts]) => counts.running > 0).sort(([, a], [, b]) => b.running - a.running).slice(0, MAX_KEYS_SHOWN);
  return {
    paused: stats.paused,
    waitingByMethod: Object.fromEntries(stats.waitingByMethod),
    runningByKey: Object.fromEntries(keys.map(([key, counts]) => [key, counts.running])),
    delayed: stats.delayed,
  };
}

function attemptView(entry: AttemptError): AttemptView {
  return { attempt: entry.attempt, at: entry.at, error: entry.error, code: entry.code === undefined ? null : (StatusCode[entry.code] ?? String(entry.code)) };
}
