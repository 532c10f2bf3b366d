/** dist/bin/ as tools/build-cli writes it: `serve` runs the ES module build (main-esm.js), every other
 * command and every pipeline task a one-file CommonJS bundle compiled from V8's code cache by
 * bundle-loader.cjs. The cache must fit the node that built it (else every command compiles the whole
 * bundle at its start), and a missing or foreign cache must not stop a command. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cp, rm, writeFile } from 'node:fs/promises';
import { wrap } from 'node:module';
import { join } from 'node:path';
import { Script } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { DIST, cliEnv, runCli } from './helpers/cli.js';
import { tempDirSync } from './helpers/temp.js';

const BIN = join(DIST, 'bin');

/** The CommonJS modules a run of `dist/bin/<entry> args` loaded from dist/bin/ (a --require hook lists
 * them at exit): bundle-loader.cjs when the run took the bundle; none when it ran the ES module build. */
function loadedFrom(bin: string, entry: string, args: string[]): { status: number | null; stderr: string; stdout: string; files: string[] } {
  const hook = join(tempDirSync('bundle-hook'), 'hook.cjs');
  writeFileSync(hook, "process.on('exit', () => process.stderr.write('\\nLOADED ' + JSON.stringify(Object.keys(require.cache)) + '\\n'));\n");
  const r = spawnSync(process.execPath, ['--require', hook, join(bin, entry), ...args], { env: cliEnv(), encoding: 'utf8' });
  const line = r.stderr.split('\n').find((l) => l.startsWith('LOADED ')) ?? 'LOADED []';
  const files = (JSON.parse(line.slice('LOADED '.length)) as string[]).filter((f) => f.startsWith(bin)).map((f) => f.slice(bin.length + 1));
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(/\nLOADED .*\n$/, ''), files };
}

describe('the bundled command line (dist/bin/)', () => {
  for (const name of ['main', 'task-main']) {
    it(`${name}: V8 takes the code cache made at build time`, () => {
      const file = join(BIN, `${name}.bundle.cjs`);
      const script = new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData: readFileSync(join(BIN, `${name}.bundle.cache`)) });
      expect(script.cachedDataRejected).toBe(false);
    });
  }

  it('runs a command from the CommonJS bundle, and serve from the ES module build', () => {
    const cmd = loadedFrom(BIN, 'main.js', ['--version']);
    expect([cmd.status, cmd.stderr, cmd.files]).toEqual([0, '', ['bundle-loader.cjs']]);
    const serve = loadedFrom(BIN, 'main.js', ['serve', '--help']);
    expect([serve.status, serve.stderr, serve.files]).toEqual([0, '', []]);
    expect(serve.stdout).toContain('Usage: stockpipe serve');
  });

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
