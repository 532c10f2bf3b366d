/** dist/bin/ as tools/build-cli writes it: each entry a CommonJS bundle run through
 * tools/bundle-loader from V8's code cache, which must fit the node that built it (else every
 * command compiles the whole bundle at its start). */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, rm, writeFile } from 'node:fs/promises';
import { wrap } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DIST, cliEnv, runCli } from './helpers/cli.js';

const BIN = join(DIST, 'bin');

describe('the bundled command line (dist/bin/)', () => {
  for (const name of ['main', 'task-main']) {
    it(`${name}: V8 takes the code cache made at build time`, () => {
      const file = join(BIN, `${name}.bundle.js`);
      const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData: readFileSync(join(BIN, `${name}.bundle.cache`)) });
      expect(script.cachedDataRejected).toBe(false);
    });
  }

  it('runs commands with its code cache missing or not V8\'s (compiled from source), and says nothing of it', async () => {
    // A copy beside dist/bin (node_modules still found), whose caches go, then are garbage.
    const copy = join(DIST, `bin-nocache-${process.pid}`);
    await cp(BIN, copy, { recursive: true });
    try {
      for (const damage of ['missing', 'garbage'] as const) {
        for (const name of ['main', 'task-main']) {
          const cache = join(copy, `${name}.bundle.cache`);
          if (damage === 'missing') await rm(cache);
          else await writeFile(cache, Buffer.alloc(4096, 7));
        }
        for (const entry of ['main.js', 'task-main.js']) {
          const r = spawnSync(process.execPath, [join(copy, entry), '--version'], { env: cliEnv(), encoding: 'utf8' });
          expect([entry, damage, r.status, r.stderr]).toEqual([entry, damage, 0, '']);
          expect(r.stdout.trim()).toBe(runCli(['--version']).stdout.trim());
        }
      }
    } finally {
      await rm(copy, { recursive: true, force: true });
    }
  });
});
