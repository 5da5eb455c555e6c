import type { AttemptError, TaskFailure, TaskRecord, TaskSpec, TaskStatus } from './task-record';
import { newRecord, withState } from './task-record';

// How the Redis store keeps a record: a status letter (what the Lua scripts read without decoding
// JSON) followed by the record's JSON.

const LETTER: Record<TaskStatus, string> = { PENDING: 'P', RUNNING: 'R', SUCCESS: 'S', FAILED: 'F', CANCELLED: 'C' };

/** A record as stored: its status letter, then its JSON. */
export function encodeRecord(record: TaskRecord): string {
  return LETTER[record.status] + JSON.stringify(record);
}

/** The record of a stored value (built by newRecord/withState, so it has the usual shape). */
export function decodeRecord(value: string): TaskRecord {
  const raw = JSON.parse(value.slice(1)) as {
    taskId: string; method: string; deps: unknown; argsDigest: string; injectDependencyResults: boolean;
    status: TaskStatus; result: string; failure?: TaskFailure; submittedAt: number; startedAt?: number; finishedAt?: number;
    retryKey?: string; attempts?: number; attemptErrors?: unknown; runAfter?: number; spec?: TaskSpec;
  };
  // Lua's cjson writes an empty array as {} (the replica-loss script re-encodes records).
  const deps = Array.isArray(raw.deps) ? (raw.deps as string[]) : [];
  const identity = { method: raw.method, deps, argsDigest: raw.argsDigest, injectDependencyResults: raw.injectDependencyResults, retryKey: raw.retryKey ?? '' };
  const failure = raw.failure ? { code: raw.failure.code, message: raw.failure.message } : undefined;
  // Records written before attempts were counted: a started task made one.
  const attempts = raw.attempts ?? (raw.startedAt !== undefined ? 1 : 0);
  const attemptErrors = Array.isArray(raw.attemptErrors) && raw.attemptErrors.length > 0 ? (raw.attemptErrors as AttemptError[]) : undefined;
  const spec = raw.spec ? { ...raw.spec, retry: raw.spec.retry ?? undefined } : undefined;
  const base = newRecord(raw.taskId, identity, raw.submittedAt, spec);
  return withState(base, raw.status, raw.result, failure, raw.startedAt, raw.finishedAt, attempts, attemptErrors, raw.runAfter);
}
