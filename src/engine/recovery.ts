import { parseCanonicalJson } from '../args/parse-canonical-json';
import { MethodNotFoundError, StatusCode, describeThrown } from '../errors';
import { withAttemptError, withState, type TaskRecord } from '../results/task-record';
import { retryDelayMs } from '../tasks/retry-policy';
import type { TaskRegistry } from '../tasks/task-registry';
import type { TaskRun } from './in-flight-task';

/**
 * What becomes of an unfinished record found in a durable store at start (or taken over from a lost
 * replica): it carries on (`resume`, with the record it resumes from, already stored), or it ends
 * (`fail`, with its final record, to store).
 */
export type RecoveryPlan =
  | { readonly kind: 'resume'; readonly record: TaskRecord; readonly run: TaskRun; readonly changed: boolean }
  | { readonly kind: 'fail'; readonly record: TaskRecord };

/** The message prefix of a task interrupted by the end of the process (or replica) that ran it. */
export const INTERRUPTED_PREFIX = 'Interrupted: ';

/**
 * Decides the fate of one unfinished record (`why` says what stopped its process, e.g. `the server
 * stopped`). PENDING — waiting for dependencies, a slot, or a retry's backoff — carries on as it was.
 * RUNNING means an attempt was under way when the process died: it counts as a failed attempt, and the
 * task runs again only if its retry policy has attempts left (at-least-once, opted in); otherwise it
 * ends FAILED `Interrupted: …` (at-most-once: a task without a policy never runs twice).
 */
export function planRecovery(record: TaskRecord, registry: TaskRegistry, why: string, now: number, random: () => number = Math.random): RecoveryPlan {
  const spec = record.spec;
  const fail = (code: StatusCode, message: string): RecoveryPlan => ({
    kind: 'fail',
    record: withState(record, 'FAILED', message, { code, message }, record.startedAt, now, record.attempts, record.attemptErrors),
  });
  if (!spec) return fail(StatusCode.INTERNAL, `${INTERRUPTED_PREFIX}${why}, and its record holds no arguments to run it again with`);
  const definition = registry.get(record.method);
  if (!definition) {
    const error = new MethodNotFoundError(record.method);
    return fail(error.code, `${error.message} (not registered since the restart)`);
  }
  let args;
  try {
    args = parseCanonicalJson(spec.argsJson);
  } catch (err) {
    return fail(StatusCode.INTERNAL, `${INTERRUPTED_PREFIX}${why}, and its stored arguments could not be read (${describeThrown(err)})`);
  }
  const run: TaskRun = {
    definition,
    args,
    argsJson: spec.argsJson,
    deps: record.deps,
    dependencyTimeoutMs: spec.dependencyTimeoutMs,
    executionTimeoutMs: spec.executionTimeoutMs,
    injectDependencyResults: record.injectDependencyResults,
    retry: spec.retry,
    priority: spec.priority ?? 0,
    concurrencyKey: spec.concurrencyKey ?? '',
    awaitUnknownDeps: spec.awaitUnknownDeps ?? false,
  };
  if (record.status === 'PENDING') return { kind: 'resume', record, run, changed: false };
  const attempt = `attempt ${record.attempts} of ${spec.retry?.maxAttempts ?? 1}`;
  const message = `${INTERRUPTED_PREFIX}${why} while the task was running (${attempt})`;
  if (!spec.retry || record.attempts >= spec.retry.maxAttempts) return fail(StatusCode.ABORTED, message);
  const errors = withAttemptError(record, message, now, StatusCode.ABORTED);
  const retryAt = now + retryDelayMs(spec.retry, record.attempts, random);
  return { kind: 'resume', record: withState(record, 'PENDING', '', undefined, record.startedAt, undefined, record.attempts, errors, retryAt), run, changed: true };
}
