/**
 * Methods paused by an operator (admin RPC, console): they accept tasks but start none until resumed.
 * Per replica: each server keeps its own set (see README "Scheduling").
 */
export class PausedMethods {
  readonly #paused = new Set<string>();
  readonly #onResume: (method: string) => void;

  constructor(onResume: (method: string) => void) {
    this.#onResume = onResume;
  }

  get size(): number {
    return this.#paused.size;
  }

  has(method: string): boolean {
    return this.#paused.has(method);
  }

  pause(method: string): void {
    this.#paused.add(method);
  }

  resume(method: string): void {
    if (this.#paused.delete(method)) this.#onResume(method);
  }

  list(): string[] {
    return [...this.#paused].sort();
  }
}
