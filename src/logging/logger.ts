/**
 * The logging surface the core needs. winston's Logger satisfies it; tests pass {@link silentLogger}.
 * Structured fields go in `meta` (`{ taskId, err }`), never interpolated into the message.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
  child(meta: Record<string, unknown>): Logger;
  isDebugEnabled(): boolean;
}

/** A logger that drops everything: the default in tests and embedders that bring none. */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  child: () => silentLogger,
  isDebugEnabled: () => false,
};
