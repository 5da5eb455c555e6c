import { LRUCache } from 'lru-cache';

/** Wrong tokens a client may post to the login form per window before it must wait. */
export const LOGIN_FAILURES_PER_WINDOW = 5;
/** The throttle's window, ms: the first failure opens it; when it ends the client starts afresh. */
export const LOGIN_WINDOW_MS = 60_000;
/** Most clients tracked at once (the least recently seen is forgotten first). */
const MAX_CLIENTS = 10_000;

interface ClientState {
  /** When this client's first failure of the window happened (`now()` clock). */
  windowStart: number;
  failures: number;
}

/**
 * Throttles wrong login tokens per client address: {@link LOGIN_FAILURES_PER_WINDOW} failures per
 * {@link LOGIN_WINDOW_MS}, then every login attempt from that address (right token or not) is refused
 * until the window ends, without comparing the token. A successful login clears the client's count.
 * Memory is bounded ({@link MAX_CLIENTS} addresses). IPv6 clients are keyed by their /64, so one host
 * cannot rotate through its own prefix to get a fresh budget.
 */
export class LoginThrottle {
  readonly #clients = new LRUCache<string, ClientState>({ max: MAX_CLIENTS });
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /** Milliseconds until `address` may try again; 0 when it may try now. */
  retryAfterMs(address: string | undefined): number {
    const state = this.#clients.get(clientKey(address));
    if (!state) return 0;
    const left = state.windowStart + LOGIN_WINDOW_MS - this.#now();
    if (left <= 0) return 0;
    return state.failures >= LOGIN_FAILURES_PER_WINDOW ? left : 0;
  }

  /** Counts a wrong token; returns whether this failure used up the client's budget (it is now throttled). */
  failed(address: string | undefined): boolean {
    const key = clientKey(address);
    const now = this.#now();
    let state = this.#clients.get(key);
    if (!state || now - state.windowStart >= LOGIN_WINDOW_MS) {
      state = { windowStart: now, failures: 0 };
      this.#clients.set(key, state);
    }
    state.failures++;
    return state.failures === LOGIN_FAILURES_PER_WINDOW;
  }

  /** A right token: the client's failures are forgotten. */
  succeeded(address: string | undefined): void {
    this.#clients.delete(clientKey(address));
  }
}

/** The throttle key of a remote address: IPv4 as is, IPv6 by its first four groups (/64). */
export function clientKey(address: string | undefined): string {
  if (!address) return '?';
  if (!address.includes(':') || address.startsWith('::ffff:')) return address.replace(/^::ffff:/, '');
  const [head = '', tail] = address.split('::');
  const groups = head === '' ? [] : head.split(':');
  if (tail !== undefined) {
    const tailGroups = tail === '' ? [] : tail.split(':');
    while (groups.length + tailGroups.length < 8) groups.push('0');
    groups.push(...tailGroups);
  }
  return `${groups
    .slice(0, 4)
    .map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
