import { TooManyCallsError } from '../errors';

/** Caps on parked `WaitResult` calls (issue 19 item 5), built once at start-up. 0 = no cap. */
export interface WaitLimits {
  /** Most WaitResult calls in progress at once, all connections together (`--max-parked-waits`). */
  readonly maxParkedWaits: number;
  /** Most WaitResult calls in progress at once on one connection (`--max-parked-waits-per-connection`). */
  readonly maxParkedWaitsPerConnection: number;
}

/**
 * Defaults: a parked WaitResult holds ~10 KB (issue 19: 150,000 → 1.5 GB), so 20,000 is ~200 MB at
 * most; 1,024 per connection is the default stream limit, which the benchmark's 1,024 WaitResults in
 * flight on one connection use.
 */
export const DEFAULT_WAIT_LIMITS: WaitLimits = Object.freeze({ maxParkedWaits: 20_000, maxParkedWaitsPerConnection: 1024 });

/**
 * Counts WaitResult calls in progress, in all and per connection (the call's peer `ip:port` names its
 * connection). {@link ParkedWaits.enter} refuses beyond a cap with RESOURCE_EXHAUSTED naming the flag;
 * every successful enter is paired with one leave.
 */
export class ParkedWaits {
  readonly #limits: WaitLimits;
  #total = 0;
  readonly #byPeer = new Map<string, number>();

  constructor(limits: WaitLimits) {
    this.#limits = limits;
  }

  /** Calls in progress (all connections). */
  get size(): number {
    return this.#total;
  }

  /** Counts one more call on `peer`, or throws when a cap is reached (nothing counted then). */
  enter(peer: string): void {
    const { maxParkedWaits, maxParkedWaitsPerConnection } = this.#limits;
    if (maxParkedWaits > 0 && this.#total >= maxParkedWaits) {
      throw new TooManyCallsError(`${this.#total} WaitResult calls are parked, the limit is ${maxParkedWaits} (--max-parked-waits)`);
    }
    const onPeer = this.#byPeer.get(peer) ?? 0;
    if (maxParkedWaitsPerConnection > 0 && onPeer >= maxParkedWaitsPerConnection) {
      throw new TooManyCallsError(`${onPeer} WaitResult calls are parked on this connection, the limit is ${maxParkedWaitsPerConnection} (--max-parked-waits-per-connection)`);
    }
    this.#total++;
    this.#byPeer.set(peer, onPeer + 1);
  }

  leave(peer: string): void {
    this.#total--;
    const onPeer = (this.#byPeer.get(peer) ?? 1) - 1;
    if (onPeer <= 0) this.#byPeer.delete(peer);
    else this.#byPeer.set(peer, onPeer);
  }
}
