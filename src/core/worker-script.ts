/** @module core/worker-script
 * The URL of a compiled worker script. Tests run the TypeScript sources (vitest), where a worker
 * cannot load .ts: there the script is taken from dist/ (built by `npm test`'s tsc step). */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** `from` is the caller's import.meta.url; `rel` the script's path below src/ (or dist/). */
export function workerScript(from: string, rel: string): URL {
  const here = fileURLToPath(from);
  const srcIdx = here.lastIndexOf(`${join('/', 'src', '/')}`);
  if (here.endsWith('.ts') && srcIdx >= 0) {
    const built = join(here.slice(0, srcIdx), 'dist', rel);
    if (!existsSync(built)) throw new Error(`worker script not built (${built}): run npm run build`);
    return pathToFileURL(built);
  }
  const distIdx = here.lastIndexOf(`${join('/', 'dist', '/')}`);
  // The bundled command line (dist/bin/) has the worker threads bundled beside it (tools/build-cli).
  if (here.startsWith(join(here.slice(0, distIdx), 'dist', 'bin', '/'))) {
    const bundled = join(here.slice(0, distIdx), 'dist', 'bin', basename(rel));
    if (existsSync(bundled)) return pathToFileURL(bundled);
  }
  return pathToFileURL(join(here.slice(0, distIdx), 'dist', rel));
}
