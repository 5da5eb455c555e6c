import { existsSync } from 'node:fs';
import { Module } from 'node:module';
import path from 'node:path';

/** The package name task modules import the public API by: `import { syncTask } from 'task-scheduler'`. */
export const PACKAGE_NAME = 'task-scheduler';

/** The part of tsx's CommonJS API used here (`tsx/cjs/api`; its own types need `exports`-aware resolution). */
interface TsxCjsApi {
  register(options: { namespace: string }): { require(id: string, fromFile: string): unknown };
}
type ResolveFilename = (this: unknown, request: string, ...rest: unknown[]) => string;

/** Loads files the way task modules are loaded; made once per thread (the main thread, each worker). */
let loader: { require(id: string, fromFile: string): unknown } | undefined;

/**
 * Sets up, once per thread, what task modules need:
 * - `'task-scheduler'` resolves to this very build, from any file, wherever it lives (a task file in
 *   /tmp has no node_modules/task-scheduler; one in a project with its own copy would get a second
 *   registry). So `syncTask` registers into the registry the running server serves.
 * - tsx compiles TypeScript (`.ts`, `.cts`, `.mts`) and ES module syntax to CommonJS as the files
 *   load. It is registered in a namespace: only task modules and what they import go through it, not
 *   the server's own modules or plugins.
 */
function taskModuleLoader(): { require(id: string, fromFile: string): unknown } {
  if (loader) return loader;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const tsx = require('tsx/cjs/api') as TsxCjsApi;
  const namespaced = tsx.register({ namespace: 'task-scheduler-task-modules' });
  // Installed over tsx's resolver, so it answers first. tsx tags what a task module imports with its
  // namespace (`index.js?namespace=…`), and Node caches a tagged path as another module: the server's
  // own files (`require('<checkout>/dist/src')` too) and installed packages keep their plain path, so
  // a task module shares them — one registry, one nice-grpc — with the running server.
  const entry = require.resolve('../index');
  const ownBuild = `${path.resolve(__dirname, '../..')}${path.sep}`;
  const packages = `${path.sep}node_modules${path.sep}`;
  const internals = Module as unknown as { _resolveFilename: ResolveFilename };
  const resolve = internals._resolveFilename;
  internals._resolveFilename = function resolveTaskSchedulerToThisBuild(request, ...rest) {
    if (request === PACKAGE_NAME) return entry;
    const resolved = resolve.call(this, request, ...rest);
    const query = resolved.indexOf('?namespace=');
    if (query < 0) return resolved;
    const file = resolved.slice(0, query);
    return file.startsWith(ownBuild) || file.includes(packages) ? file : resolved;
  };
  loader = namespaced;
  return loader;
}

/**
 * Loads a user task module (`--task-module`): a `.ts`/`.cts`/`.mts` or `.js`/`.cjs`/`.mjs` file whose
 * `syncTask`/`asyncTask` calls register its tasks as it loads. `file` is resolved against the
 * working directory. Throws an Error with one line naming the file and the reason (syntax error with
 * its line, a missing import, what the module threw) when it cannot load.
 *
 * Runs in plain Node only: under jest, modules come from jest's own registry, not Node's.
 */
export function loadTaskModule(file: string): void {
  const absolute = path.resolve(file);
  if (!existsSync(absolute)) throw new Error(`cannot load task module ${absolute}: no such file`);
  try {
    taskModuleLoader().require(absolute, __filename);
  } catch (err) {
    throw new Error(`cannot load task module ${absolute}: ${describeLoadFailure(err, absolute)}`, { cause: err });
  }
}

/** One line saying why `file` did not load, with the line where that is known. */
export function describeLoadFailure(err: unknown, file: string): string {
  if (!(err instanceof Error)) return String(err);
  const where = (location: string) => (location.startsWith(`${file}:`) ? `line ${location.slice(file.length + 1)}` : location);
  // esbuild (through tsx): "Transform failed with 1 error:\n/path/x.ts:2:18: ERROR: Unexpected \";\""
  const compileErrors = [...err.message.matchAll(/^(.+:\d+:\d+): ERROR: (.*)$/gm)];
  if (err.message.startsWith('Transform failed') && compileErrors.length > 0) {
    return compileErrors.map(([, location, message]) => `${where(location!)}: ${message}`).join('; ');
  }
  const stack = (err.stack ?? '').replace(/\?namespace=[^:)\s]*/g, '');
  const firstLine = (err.message.split('\n')[0] ?? '').trim();
  const name = err.name === 'Error' ? '' : `${err.name}: `;
  // V8's syntax errors in plain JS: the stack starts with "/path/x.js:2" and the source line.
  if (err instanceof SyntaxError) {
    const location = /^(.+:\d+)\n/.exec(stack);
    if (location) return `${name}${firstLine} (${where(location[1]!)})`;
  }
  if ((err as { code?: unknown }).code === 'MODULE_NOT_FOUND') return firstLine;
  // Thrown while the module ran: where, from the stack (Node's own frames have no absolute path).
  const frame = /\(?((?:\/|[A-Za-z]:\\)[^():\n]+:\d+:\d+)\)?$/m;
  const frames = stack
    .split('\n')
    .slice(1)
    .map((line) => frame.exec(line.trim())?.[1])
    .filter((location): location is string => location !== undefined && !location.includes(`${path.sep}node_modules${path.sep}`));
  // A line of the module itself (e.g. the syncTask call a duplicate name came from), else the first of the user's.
  const userFrame = frames.find((location) => location.startsWith(`${file}:`)) ?? frames[0];
  return `${name}${firstLine}${userFrame ? ` (at ${where(userFrame)})` : ''}`;
}
