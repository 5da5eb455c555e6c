import type { AttemptError, TaskFailure, TaskRecord, TaskSpec, TaskStatus } from './task-record';
import { newRecord, withState } from './task-record';

/**
 * A record as JSON text, for the stores that keep records outside the process (Redis, SQLite): every
 * field, the spec of an unfinished record included.
 */
export function recordToJson(record: TaskRecord): string {
  return JSON.stringify(record);
}

/**
 * The record of {@link recordToJson}'s text, built by newRecord/withState so it has the usual shape.
 * Tolerates records written by earlier versions (no attempts, no retry key) and Lua's cjson, which
 * writes an empty array as `{}`.
 */
export function recordFromJson(json: string): TaskRecord {
  const raw = JSON.parse(json) as {
    taskId: string; method: string; deps: unknown; argsDigest: string; injectDependencyResults: boolean;
    status: TaskStatus; result: string; failure?: TaskFailure; submittedAt: number; startedAt?: number; finishedAt?: number;
    retryKey?: string; attempts?: number; attemptErrors?: unknown; runAfter?: number; spec?: TaskSpec; trace?: string;
  };
  const deps = Array.isArray(raw.deps) ? (raw.deps as string[]) : [];
  const identity = { method: raw.method, deps, argsDigest: raw.argsDigest, injectDependencyResults: raw.injectDependencyResults, retryKey: raw.retryKey ?? '' };
  const failure = raw.failure ? { code: raw.failure.code, message: raw.failure.message } : undefined;
  // Records written before attempts were counted: a started task made one.
  const attempts = raw.attempts ?? (raw.startedAt !== undefined ? 1 : 0);
  const attemptErrors = Array.isArray(raw.attemptErrors) && raw.attemptErrors.length > 0 ? (raw.attemptErrors as AttemptError[]) : undefined;
  const spec = raw.spec ? { ...raw.spec, retry: raw.spec.retry ?? undefined } : undefined;
  const base = newRecord(raw.taskId, identity, raw.submittedAt, spec, typeof raw.trace === 'string' ? raw.trace : undefined);
  return withState(base, raw.status, raw.result, failure, raw.startedAt, raw.finishedAt, attempts, attemptErrors, raw.runAfter);
}
