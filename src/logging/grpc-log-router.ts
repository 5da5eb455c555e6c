import { setLogger } from '@grpc/grpc-js';
import { clip } from '../errors';
import type { Logger } from './logger';
import { RateLimitedLog } from './rate-limited-log';

/** What grpc-js logs (at ERROR) just before `bindAsync` fails; the CLI reports the failure itself. */
const BIND_FAILURE_LINE = /^No address added out of total \d+ resolved$/;
/**
 * grpc-js's line for a request header it cannot take as metadata (a tab or non-ASCII character in a
 * value): `Failed to add metadata entry <key>: <value>. Metadata string value "<value>" contains
 * illegal characters. For more …` — the value twice, an `authorization` token included.
 */
const METADATA_LINE = /^Failed to add metadata entry ([^:]*): /;
/** Credentials however they are spelled: `Bearer<TAB>abc`, `authorization: x`, `token=abc`, `"password":"x"`. */
const CREDENTIALS = [
  /\b(bearer|basic|digest)(?:\s|%09|\\t)+[^\s"',;]+/gi,
  /\b(authorization|proxy-authorization|cookie|x-api-key|api[-_]?key|access[-_]?token|refresh[-_]?token|token|password|passwd|secret)("?\s*[:=]\s*"?)[^\s"',;]+/gi,
];
/** Longest line kept; grpc-js lines carry client-controlled text. */
export const GRPC_LOG_MAX_CHARS = 400;

/** Settings of {@link routeGrpcLogs}. */
export interface GrpcLogRouterOptions {
  /** Where the lines go (as `component: 'grpc-js'`). */
  readonly logger: Logger;
  /** Values never to print (the accepted bearer tokens), replaced wherever they appear. */
  readonly secrets?: readonly string[];
  /** Lines per level per interval before they collapse into a summary (see {@link RateLimitedLog}). Default 5. */
  readonly burst?: number;
  /** Default 10 000 ms. */
  readonly intervalMs?: number;
}

/** The installed router. */
export interface GrpcLogRouter {
  /** Writes the summaries of what was collapsed so far (call on shutdown). */
  flush(): void;
}

type Level = 'error' | 'warn' | 'info' | 'debug';

/**
 * Routes grpc-js's own log lines (printed by default to stderr as `E …`/`I …`/`D …`) through our
 * logger, where they are safe to write whatever a client sent:
 * - **redacted**: a rejected metadata entry is logged by its key only (grpc-js prints the value, a
 *   bearer token included, twice); the configured tokens and anything shaped like a credential are
 *   replaced by `[redacted]` in every line;
 * - **truncated** to {@link GRPC_LOG_MAX_CHARS} and control characters escaped;
 * - **rate-limited** per level (a client sending bad headers in a loop wrote 1.2 GB of stderr in 11 s):
 *   a few lines per interval, then one summary counting the rest by kind;
 * - grpc-js's stray line before a failed bind is dropped (the CLI reports that failure itself).
 * A rejected metadata entry is the client's fault, so it is a warning, not an error.
 *
 * grpc-js has one process-wide logger: installing this replaces whatever was there. grpc-js's
 * verbosity (`GRPC_VERBOSITY`, default ERROR) still decides which lines it produces.
 */
export function routeGrpcLogs(options: GrpcLogRouterOptions): GrpcLogRouter {
  const logger = options.logger.child({ component: 'grpc-js' });
  const secrets = (options.secrets ?? []).filter((secret) => secret.length > 0);
  const logs = new Map<Level, RateLimitedLog>();
  const logAt = (level: Level): RateLimitedLog => {
    let log = logs.get(level);
    if (!log) {
      log = new RateLimitedLog({ logger, level, burst: options.burst ?? 5, intervalMs: options.intervalMs ?? 10_000, summary: 'grpc-js: lines collapsed' });
      logs.set(level, log);
    }
    return log;
  };
  const route = (level: Level) => (message?: unknown, ...rest: unknown[]): void => {
    const text = [message, ...rest].map((part) => (typeof part === 'string' ? part : String(part))).join(' ');
    if (BIND_FAILURE_LINE.test(text)) return;
    const line = sanitizeGrpcLogLine(text, secrets);
    const rejectedMetadata = line.startsWith('Failed to add metadata entry ');
    logAt(rejectedMetadata && level === 'error' ? 'warn' : level).report(kindOf(line), line);
  };
  setLogger({ error: route('error'), info: route('info'), debug: route('debug') });
  return { flush: () => logs.forEach((log) => log.flush()) };
}

/**
 * One grpc-js line made safe to log: a rejected metadata entry reduced to its key, `secrets` and
 * credential-shaped values redacted, at most {@link GRPC_LOG_MAX_CHARS} characters, controls escaped.
 */
export function sanitizeGrpcLogLine(text: string, secrets: readonly string[] = []): string {
  const redactSecrets = (line: string) => secrets.reduce((out, secret) => (out.includes(secret) ? out.split(secret).join('[redacted]') : out), line);
  const metadata = METADATA_LINE.exec(text);
  if (metadata) {
    // Only the key is kept: nothing of the value, whatever shape a credential in it has.
    const why = /contains illegal characters/.test(text) ? 'it contains characters metadata may not hold (e.g. a tab or non-ASCII)' : 'it is not valid metadata';
    return clip(`Failed to add metadata entry ${redactSecrets(metadata[1]!.slice(0, 64))}: the value is withheld; ${why}; the request goes on without it`, GRPC_LOG_MAX_CHARS);
  }
  const line = redactSecrets(text).replace(CREDENTIALS[0]!, '$1 [redacted]').replace(CREDENTIALS[1]!, '$1$2[redacted]');
  return clip(line, GRPC_LOG_MAX_CHARS);
}

/** What a collapsed line is counted under: its start, numbers blurred (`Failed to add metadata entry authorization`). */
function kindOf(line: string): string {
  const metadata = METADATA_LINE.exec(line);
  if (metadata) return `Failed to add metadata entry ${metadata[1]!}`;
  return line.slice(0, 48).replace(/\d+/g, '#');
}
