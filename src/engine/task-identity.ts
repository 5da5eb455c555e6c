import { createHash } from 'node:crypto';
import type { ArgValue } from '../args/arg-value';
import { canonicalJson } from '../args/canonical-json';

/** Canonical JSON up to this length is kept as is; longer is replaced by its SHA-256 (bounded memory). */
const MAX_INLINE_DIGEST = 64;

/**
 * Identity of decoded arguments for idempotency (SPEC §3): equal decoded values give equal digests
 * whatever their wire order (maps are canonicalised).
 */
export function argsDigest(args: readonly ArgValue[]): string {
  const json = canonicalJson(args);
  return json.length <= MAX_INLINE_DIGEST ? json : `sha256:${createHash('sha256').update(json).digest('base64')}`;
}

/** Why two requests for one task id differ, or undefined when they are the same task. */
export function identityMismatch(
  existing: { method: string; deps: readonly string[]; argsDigest: string; injectDependencyResults: boolean },
  incoming: { method: string; deps: readonly string[]; argsDigest: string; injectDependencyResults: boolean },
): string | undefined {
  if (existing.method !== incoming.method) return 'submitted with a different method';
  if (existing.argsDigest !== incoming.argsDigest) return 'submitted with different arguments';
  if (existing.deps.length !== incoming.deps.length || existing.deps.some((dep, i) => dep !== incoming.deps[i])) {
    return 'submitted with different dependencies';
  }
  if (existing.injectDependencyResults !== incoming.injectDependencyResults) return 'submitted with a different inject_dependency_results';
  return undefined;
}
