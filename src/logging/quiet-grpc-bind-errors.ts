import { setLogger } from '@grpc/grpc-js';

/** What grpc-js logs (at ERROR, to stderr) just before `bindAsync` fails. */
const BIND_FAILURE_LINE = /^No address added out of total \d+ resolved$/;

/**
 * Makes grpc-js's own logger skip the one line it prints when a listen address cannot be bound
 * (`E No address added out of total 1 resolved`). The same failure reaches us as the rejected
 * `listen`, which the CLI reports as its own one-line error with the reason (address in use, …); the
 * stray line before it only confused. Everything else grpc-js logs is printed as its default logger
 * prints it (`E `/`I `/`D ` prefixes on stderr).
 *
 * grpc-js has one process-wide logger and no getter for it in its public API, so this replaces the
 * default; code that installs a logger of its own afterwards should drop the same line.
 */
export function quietGrpcBindErrors(): void {
  const print = (prefix: string) => (message?: unknown, ...rest: unknown[]): void => {
    if (typeof message === 'string' && BIND_FAILURE_LINE.test(message)) return;
    console.error(`${prefix}${String(message)}`, ...rest);
  };
  setLogger({ error: print('E '), info: print('I '), debug: print('D ') });
}
