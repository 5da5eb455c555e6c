import type { TaskProgress } from '../results/task-record';

/** A task's progress reports reach watchers at most this often (the latest wins); chatty tasks cannot flood anything. */
export const PROGRESS_INTERVAL_MS = 100;
/** Longest progress message kept, characters. */
export const MAX_PROGRESS_MESSAGE_CHARS = 200;

/** A report as the engine keeps it: the fraction within 0…1 (NaN: 0), the message a string cut to its bound. */
export function normalizeProgress(fraction: unknown, message: unknown): TaskProgress {
  const f = typeof fraction === 'number' && fraction > 0 ? Math.min(1, fraction) : 0;
  const text = typeof message === 'string' ? message : message === undefined ? '' : String(message);
  return { fraction: f, message: text.length > MAX_PROGRESS_MESSAGE_CHARS ? `${text.slice(0, MAX_PROGRESS_MESSAGE_CHARS - 1)}…` : text };
}
