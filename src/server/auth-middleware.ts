import { createHash, timingSafeEqual } from 'node:crypto';
import { ServerError, Status, type ServerMiddleware } from 'nice-grpc';

/** Services that answer without a token: load balancers and orchestrators probe health unauthenticated. */
export const OPEN_SERVICES: readonly string[] = ['/grpc.health.v1.Health/'];

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * A checker for presented tokens: compares SHA-256 digests with `timingSafeEqual` against every
 * configured token (no early exit), so timing reveals neither the token nor which one matched. Shared
 * by the gRPC middleware and the dashboard.
 */
export function tokenMatcher(tokens: readonly string[]): (given: string) => boolean {
  if (tokens.length === 0) throw new Error('tokenMatcher needs at least one token');
  const expected = tokens.map(digest);
  return (given) => {
    const presented = digest(given);
    let ok = false;
    for (const candidate of expected) ok = timingSafeEqual(presented, candidate) || ok;
    return ok;
  };
}

/**
 * Bearer-token authentication: every call except {@link OPEN_SERVICES} must carry
 * `authorization: Bearer <token>` with one of `tokens`, else UNAUTHENTICATED (compared by
 * {@link tokenMatcher}). `onRefused` is told the path of each refused call (metrics: a refused call
 * never reaches the service, whose wrapper counts the others).
 */
export function authMiddleware(tokens: readonly string[], onRefused?: (path: string) => void): ServerMiddleware {
  if (tokens.length === 0) throw new Error('authMiddleware needs at least one token');
  const matches = tokenMatcher(tokens);
  const refuse = (path: string, message: string): never => {
    onRefused?.(path);
    throw new ServerError(Status.UNAUTHENTICATED, message);
  };
  return async function* authenticate(call, context) {
    const path = call.method.path;
    if (!OPEN_SERVICES.some((prefix) => path.startsWith(prefix))) {
      const header = context.metadata.get('authorization');
      const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
      if (!match) refuse(path, 'Missing credentials: send metadata "authorization: Bearer <token>"');
      else if (!matches(match[1]!)) refuse(path, 'Invalid token');
    }
    return yield* call.next(call.request, context);
  };
}
