import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import winston from 'winston';
import type { Logger } from './logger';

/** Log levels, most to least severe. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  readonly level: LogLevel;
  /** Directory for a new timestamped JSON-lines file; ignored when `file` is set. Empty: no file. */
  readonly dir: string;
  /** Explicit log file (appended to). */
  readonly file?: string;
  /** Log to the console too (human-readable). */
  readonly console: boolean;
  /** Console lines go to stderr (keeps stdout for the interactive console). */
  readonly consoleToStderr?: boolean;
  /**
   * With tracing on: the active span's ids, added to every line as `trace_id` and `span_id`, so a log
   * line leads to its trace.
   */
  readonly activeSpan?: () => { readonly traceId: string; readonly spanId: string } | undefined;
}

/** The file a run logs to: `<dir>/task-scheduler-<ISO time>.log` unless `file` is given. */
export function logFilePath(options: LoggerOptions, now = new Date()): string | undefined {
  if (options.file) return options.file;
  if (!options.dir) return undefined;
  return path.join(options.dir, `task-scheduler-${now.toISOString().replace(/[:.]/g, '-')}.log`);
}

// eslint-disable-next-line no-control-regex
const LINE_BREAKERS = /[\u007f-\u009f\u2028\u2029]/g;

/**
 * Escapes what JSON.stringify leaves raw but a terminal or a log viewer may treat as a line break or a
 * control sequence: DEL, the C1 controls (NEL U+0085, CSI U+009B) and U+2028/U+2029. Inside a JSON
 * string literal the `\uXXXX` form is the same value, so the file stays valid JSON lines.
 */
export function escapeLineBreakers(line: string): string {
  return line.replace(LINE_BREAKERS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** winston's key for the finished line (triple-beam's MESSAGE, a registered symbol). */
const MESSAGE = Symbol.for('message');

/** Final step of both formats: {@link escapeLineBreakers} on the finished line. */
const escapeLine = winston.format((info) => {
  const record = info as unknown as Record<symbol, unknown>;
  const line = record[MESSAGE];
  if (typeof line === 'string') record[MESSAGE] = escapeLineBreakers(line);
  return info;
});

/**
 * Builds the process logger: console (readable) plus a JSON-lines file (one object per line, with
 * timestamp). Messages and fields are serialised with JSON escaping (C0 controls, newlines, quotes),
 * plus {@link escapeLineBreakers}, so client-supplied values (task ids, error text) cannot forge lines
 * or send terminal control sequences.
 */
export function createLogger(options: LoggerOptions): { logger: Logger; file: string | undefined; close: () => Promise<void> } {
  const transports: winston.transport[] = [];
  if (options.console) {
    transports.push(
      new winston.transports.Console({
        ...(options.consoleToStderr ? { stderrLevels: [...LOG_LEVELS] } : {}),
        format: winston.format.combine(
          winston.format.timestamp(),
          winston.format.printf(({ timestamp, level, message, ...meta }) => {
            const fields = Object.keys(meta).length > 0 ? ` ${JSON.stringify(meta, errorReplacer)}` : '';
            return `${String(timestamp)} ${level}: ${JSON.stringify(String(message)).slice(1, -1)}${fields}`;
          }),
          escapeLine(),
        ),
      }),
    );
  }
  const file = logFilePath(options);
  let stream: WriteStream | undefined;
  if (file) {
    mkdirSync(path.dirname(file), { recursive: true });
    // A plain append stream we own, so close() can wait until every line is on disk (winston's File
    // transport signals 'finish' before its last writes land, losing lines at exit).
    stream = createWriteStream(file, { flags: 'a' });
    transports.push(
      new winston.transports.Stream({
        stream,
        format: winston.format.combine(winston.format.timestamp(), winston.format.json({ replacer: errorReplacer }), escapeLine()),
      }),
    );
  }
  const activeSpan = options.activeSpan;
  const withSpanIds = activeSpan
    ? winston.format((info) => {
        const ids = activeSpan();
        if (ids && info['trace_id'] === undefined) {
          info['trace_id'] = ids.traceId;
          info['span_id'] = ids.spanId;
        }
        return info;
      })()
    : undefined;
  const logger = winston.createLogger({ level: options.level, transports, silent: transports.length === 0, ...(withSpanIds ? { format: withSpanIds } : {}) });
  const close = async (): Promise<void> => {
    if (!stream) return;
    const open = stream;
    await new Promise<void>((resolve) => {
      open.end(() => resolve());
      setTimeout(resolve, 2000).unref();
    });
  };
  return { logger, file, close };
}

/** JSON replacer that keeps an Error's message and stack (JSON.stringify drops them otherwise). */
function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  return value;
}
