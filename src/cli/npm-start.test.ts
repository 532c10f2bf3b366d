/** `npm start`: run train and serve get the same workspace and global options; serve gets the rest. */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirSync } from '../../test/helpers/temp.js';
import { npmStart, startArgs, startScript } from './npm-start.js';

describe('npm start', () => {
  // Probed: `npm start -- --workspace DIR` trained ./stockpipe-data (npm appends the arguments to the
  // script's last command) and served DIR, "no model yet".
  it('the global options go to run train and serve, serve options to serve only', () => {
    expect(startArgs(['--workspace', '/w', '--port', '8001', '--threads=2', '-q', '--host', '::1', '--json'])).toEqual({
      train: ['--workspace', '/w', '--threads=2', '-q', '--json'],
      serve: ['--workspace', '/w', '--port', '8001', '--threads=2', '-q', '--host', '::1', '--json'],
    });
    expect(startArgs(['-w', 'ws', '-c', 'cfg.json', '--memory-limit', '1GB', '--debug', '-p', '0'])).toEqual({
      train: ['-w', 'ws', '-c', 'cfg.json', '--memory-limit', '1GB', '--debug'],
      serve: ['-w', 'ws', '-c', 'cfg.json', '--memory-limit', '1GB', '--debug', '-p', '0'],
    });
  });

  it("package.json's start evals the script: each command's arguments arrive as given (spaces and quotes too)", () => {
    const dir = tempDirSync('npm-start');
    const main = join(dir, 'main.mjs');
    writeFileSync(main, 'console.log(JSON.stringify(process.argv.slice(2)));\n');
    const ws = join(dir, "it's a ws");
    const r = spawnSync('sh', ['-c', startScript(['--workspace', ws, '--port', '0'], process.execPath, main)], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as string[])).toEqual([
      ['run', 'train', '--workspace', ws],
      ['serve', '--workspace', ws, '--port', '0'],
    ]);
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toContain('dist/cli/npm-start.js');
  });

  // Probed: `npm start --port 8001` (no `--`) trained for a minute, then serve said "too many arguments for
  // 'serve'. Expected 0 arguments but got 1." (npm kept --port as npm_config_port and passed on "8001").
  it('stockpipe options npm took as its own settings stop it before training, saying to put them after --', () => {
    const r = npmStart(['8001'], { npm_config_port: 'true', npm_config_cache: '/root/.npm' });
    expect(r.script).toBe('exit 2\n');
    expect(r.stderr).toContain('SP_ERR_USAGE: npm took --port as its own setting');
    expect(r.stderr).toContain('npm start -- --port 8001');
    expect(npmStart(['--port', '8001'], { npm_config_cache: '/root/.npm' }).script).toContain("'serve' '--port' '8001'");
  });
});
