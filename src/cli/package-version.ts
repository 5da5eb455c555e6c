import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The name in this package's package.json. */
const PACKAGE_NAME = 'task-scheduler';

/**
 * The version of the running build (`--version`): from the package.json of the package this file belongs
 * to, found by walking up from here (src/cli under ts-jest, dist/src/cli when compiled). Read at run
 * time rather than imported, so the compiled output does not get a copy of package.json.
 */
export function packageVersion(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === PACKAGE_NAME && typeof manifest.version === 'string') return manifest.version;
    } catch {
      // No (readable) package.json here: keep walking up.
    }
    if (dir === path.dirname(dir)) throw new Error(`no package.json of ${PACKAGE_NAME} above ${from}`);
  }
}
