import { hash } from 'node:crypto';
import type { ArgValue } from '../args/arg-value';
import { canonicalJson } from '../args/canonical-json';
import type { TaskIdentity } from '../results/task-record';

/** Canonical JSON up to this length is kept as is; longer is replaced by its SHA-256 (bounded memory). */
const MAX_INLINE_DIGEST = 64;

/**
 * Identity of decoded arguments for idempotency (SPEC §3): equal decoded values give equal digests
 * whatever their wire order (maps are canonicalised).
 */
export function argsDigest(args: readonly ArgValue[]): string {
  return digestOfCanonicalJson(canonicalJson(args));
}

/**
 * {@link argsDigest} from the arguments' canonical JSON, for a caller that needs the JSON itself too
 * (the engine hands it to the task, so `echo` does not build it a second time).
 */
export function digestOfCanonicalJson(json: string): string {
  // One-shot crypto.hash: no Hash object per call (the JSON is hashed as UTF-8, as Hash#update did).
  return json.length <= MAX_INLINE_DIGEST ? json : `sha256:${hash('sha256', json, 'base64')}`;
}

/** Why two requests for one task id differ, or undefined when they are the same task. */
export function identityMismatch(existing: TaskIdentity, incoming: TaskIdentity): string | undefined {
  if (existing.method !== incoming.method) return 'submitted with a different method';
  if (existing.argsDigest !== incoming.argsDigest) return 'submitted with different arguments';
  if (existing.deps.length !== incoming.deps.length || existing.deps.some((dep, i) => dep !== incoming.deps[i])) {
    return 'submitted with different dependencies';
  }
  if (existing.injectDependencyResults !== incoming.injectDependencyResults) return 'submitted with a different inject_dependency_results';
  if (existing.retryKey !== incoming.retryKey) return 'submitted with a different retry_policy';
  return undefined;
}
