import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { LRUCache } from 'lru-cache';
import { tokenMatcher } from '../server/auth-middleware';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'task_scheduler_dashboard';
/** How long a dashboard login lasts. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
/** Most sessions held at once (the least recently used is dropped first). */
const MAX_SESSIONS = 1_000;

/**
 * The dashboard's side of `--auth-token`: a request is allowed with `authorization: Bearer <token>`
 * (scripts, tests) or with a session cookie that the login form handed out. The cookie holds a random
 * session id, never the token; sessions live in memory (bounded, expiring) and end with the process.
 * With no tokens configured, everything is allowed.
 */
export class DashboardAuth {
  readonly enabled: boolean;
  readonly #matches: ((given: string) => boolean) | undefined;
  readonly #sessions: LRUCache<string, true>;
  readonly #ttlMs: number;

  /** `ttlMs`: how long a login lasts (tests shorten it). */
  constructor(tokens: readonly string[], ttlMs = SESSION_TTL_MS) {
    this.enabled = tokens.length > 0;
    this.#ttlMs = ttlMs;
    this.#sessions = new LRUCache<string, true>({ max: MAX_SESSIONS, ttl: ttlMs });
    this.#matches = this.enabled ? tokenMatcher(tokens) : undefined;
  }

  /** Whether the request may read the dashboard. */
  allows(req: IncomingMessage): boolean {
    if (!this.#matches) return true;
    const header = req.headers.authorization;
    if (header !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
      return match !== null && this.#matches(match[1]!);
    }
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return session !== undefined && this.#sessions.get(session) === true;
  }

  /** A new session id when `token` is valid (the login form), else undefined. */
  login(token: string): string | undefined {
    if (!this.#matches || !this.#matches(token)) return undefined;
    const session = randomBytes(32).toString('base64url');
    this.#sessions.set(session, true);
    return session;
  }

  /** Ends the session the request carries, if any, and returns its id (its live streams end too). */
  logout(req: IncomingMessage): string | undefined {
    const session = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (session !== undefined) this.#sessions.delete(session);
    return session;
  }

  /**
   * The session a request was allowed by: its cookie's id when auth is on and no bearer header was sent
   * (a bearer request is allowed per request, so it has no session that could end).
   */
  sessionOf(req: IncomingMessage): string | undefined {
    if (!this.#matches || req.headers.authorization !== undefined) return undefined;
    return cookieValue(req.headers.cookie, SESSION_COOKIE);
  }

  /** Whether a session is still valid (not logged out, expired or dropped as least recently used). */
  isLive(session: string): boolean {
    return this.#sessions.has(session);
  }

  /** The `Set-Cookie` value for a session (`undefined`: clear it). */
  cookie(session: string | undefined, secure: boolean): string {
    const attributes = `Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    return session === undefined
      ? `${SESSION_COOKIE}=; ${attributes}; Max-Age=0`
      : `${SESSION_COOKIE}=${session}; ${attributes}; Max-Age=${Math.ceil(this.#ttlMs / 1000)}`;
  }
}

/** The value of cookie `name` in a `Cookie` header. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
