import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { workerScript } from './worker-script.js';

describe('workerScript', () => {
  it('from the bundled command line (dist/bin/): the worker bundled beside it, else tsc\'s script in dist/', async () => {
    const root = await tempDir('worker-script');
    await mkdir(join(root, 'dist', 'bin'), { recursive: true });
    const from = pathToFileURL(join(root, 'dist', 'bin', 'chunk-ABC.js')).href;
    expect(workerScript(from, 'features/feature-worker.js').pathname).toBe(join(root, 'dist', 'features', 'feature-worker.js'));
    await writeFile(join(root, 'dist', 'bin', 'feature-worker.js'), '');
    expect(workerScript(from, 'features/feature-worker.js').pathname).toBe(join(root, 'dist', 'bin', 'feature-worker.js'));
    // tsc's output (dist/features/…) keeps its own scripts.
    expect(workerScript(pathToFileURL(join(root, 'dist', 'features', 'build.js')).href, 'features/feature-worker.js').pathname).toBe(join(root, 'dist', 'features', 'feature-worker.js'));
  });
});
