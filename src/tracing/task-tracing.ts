import { SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { SchedulerObserver } from '../engine/scheduler-types';
import { StatusCode } from '../errors';
import type { TaskRecord } from '../results/task-record';
import { contextOf } from './trace-context';

/** Attribute names of task spans (our own namespace: no OTel convention covers a task queue's task). */
export const TASK_ATTRIBUTES = Object.freeze({
  id: 'taskscheduler.task.id',
  method: 'taskscheduler.task.method',
  attempt: 'taskscheduler.task.attempt',
  attempts: 'taskscheduler.task.attempts',
  status: 'taskscheduler.task.status',
  resumed: 'taskscheduler.task.resumed',
  dependencies: 'taskscheduler.task.dependencies',
  retryAt: 'taskscheduler.task.retry_at',
});

/** Dependency ids named on a waiting event, at most (a task may have 1,000). */
const MAX_NAMED_DEPENDENCIES = 20;

interface TaskSpans {
  readonly life: Span;
  run: Span | undefined;
}

/**
 * Task spans from the engine's lifecycle events (a {@link SchedulerObserver}, registered only when
 * tracing is on, so it costs nothing otherwise): one span per task's life here, `task <method>`, child
 * of the context its record carries (the submitter's RPC span, or its workflow's), with events for
 * accepted / waiting for dependencies (which ones) / waiting for a slot / started / attempt failed /
 * finished; and a child span per attempt, `run <method>` (a worker thread's run included: it is timed
 * here). A task resumed after a restart or taken over from a lost replica starts a new life span in
 * the same trace. Attributes name the task id, method, attempt and status — never arguments, results
 * or error texts (they may hold secrets): a failed span's status message is the gRPC code's name.
 */
export function createTaskTracing(tracer: Tracer = trace.getTracer('task-scheduler')): SchedulerObserver {
  const spans = new Map<string, TaskSpans>();

  const spansOf = (record: TaskRecord, resumed: boolean): TaskSpans => {
    let entry = spans.get(record.taskId);
    if (!entry) {
      const life = tracer.startSpan(
        `task ${record.method}`,
        { attributes: { [TASK_ATTRIBUTES.id]: record.taskId, [TASK_ATTRIBUTES.method]: record.method, ...(resumed ? { [TASK_ATTRIBUTES.resumed]: true } : {}) } },
        contextOf(record.trace),
      );
      entry = { life, run: undefined };
      spans.set(record.taskId, entry);
    }
    return entry;
  };

  const endRun = (entry: TaskSpans, record: TaskRecord, failed: boolean): void => {
    const run = entry.run;
    if (!run) return;
    entry.run = undefined;
    if (failed) run.setStatus({ code: SpanStatusCode.ERROR, message: codeName(record) });
    run.end();
  };

  return {
    taskAccepted(record) {
      spansOf(record, false).life.addEvent('accepted');
    },
    taskWaiting(record, on, ids) {
      const { life } = spansOf(record, true);
      if (on === 'slot') {
        life.addEvent('waiting for a slot');
        return;
      }
      life.addEvent('waiting for dependencies', { [TASK_ATTRIBUTES.dependencies]: (ids ?? []).slice(0, MAX_NAMED_DEPENDENCIES) });
    },
    taskStarted(record) {
      const entry = spansOf(record, true);
      entry.life.addEvent('started', { [TASK_ATTRIBUTES.attempt]: record.attempts });
      endRun(entry, record, true);
      entry.run = tracer.startSpan(
        `run ${record.method}`,
        { attributes: { [TASK_ATTRIBUTES.id]: record.taskId, [TASK_ATTRIBUTES.method]: record.method, [TASK_ATTRIBUTES.attempt]: record.attempts } },
        trace.setSpan(contextOf(undefined), entry.life),
      );
    },
    taskRetrying(record) {
      const entry = spansOf(record, true);
      endRun(entry, record, true);
      entry.life.addEvent('attempt failed', { [TASK_ATTRIBUTES.attempt]: record.attempts, [TASK_ATTRIBUTES.retryAt]: new Date(record.runAfter ?? Date.now()).toISOString() });
    },
    taskFinished(record) {
      const entry = spansOf(record, true);
      spans.delete(record.taskId);
      const failed = record.status !== 'SUCCESS';
      endRun(entry, record, failed);
      entry.life.addEvent('finished', { [TASK_ATTRIBUTES.status]: record.status });
      entry.life.setAttributes({ [TASK_ATTRIBUTES.status]: record.status, [TASK_ATTRIBUTES.attempts]: record.attempts });
      if (failed) entry.life.setStatus({ code: SpanStatusCode.ERROR, message: codeName(record) });
      entry.life.end();
    },
  };
}

/** The gRPC code name of a failed record, e.g. `INTERNAL`. */
function codeName(record: TaskRecord): string {
  return record.failure ? StatusCode[record.failure.code] ?? String(record.failure.code) : record.status;
}
