import type { Logger } from '../../src/logging/logger';

/** One line a {@link recordingLogger} kept: its level, message and fields (a child's bound fields included). */
export interface LogLine {
  readonly level: string;
  readonly message: string;
  readonly meta: Record<string, unknown>;
}

/** A Logger that keeps every line in `lines` (children share the list and add their fields); debug off. */
export function recordingLogger(lines: LogLine[] = [], bound: Record<string, unknown> = {}): Logger {
  const at = (level: string) => (message: string, meta: Record<string, unknown> = {}) => void lines.push({ level, message, meta: { ...bound, ...meta } });
  return {
    error: at('error'),
    warn: at('warn'),
    info: at('info'),
    debug: at('debug'),
    child: (meta) => recordingLogger(lines, { ...bound, ...meta }),
    isDebugEnabled: () => false,
  };
}
