import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { RESULT_LOG_CHARS, runCommandProcess } from './subprocess.js';

/** A stand-in for the CLI: logs one line to stderr, then prints its --json document (from argv[2]). */
const FAKE_MAIN = `process.stderr.write('{"level":30,"msg":"working"}\\n'); const doc = process.argv[2]; process.stdout.write(doc + '\\n'); process.exit(JSON.parse(doc).ok ? 0 : 1);`;

async function run(doc: unknown): Promise<{ log: string; result: unknown }> {
  const dir = await tempDir('subprocess');
  const main = join(dir, 'fake-main.cjs');
  await writeFile(main, FAKE_MAIN);
  const logPath = join(dir, 'task.log');
  const result = await runCommandProcess({ mainScript: main, args: [JSON.stringify(doc)], logPath, signal: new AbortController().signal }).catch((err: unknown) => err);
  return { log: await readFile(logPath, 'utf8'), result };
}

describe('a task command process', () => {
  it("writes the command's result at the end of the task log, after its own lines", async () => {
    const { log, result } = await run({ ok: true, data: { rows: 12, table: 'prices' } });
    expect(result).toEqual({ rows: 12, table: 'prices' });
    const lines = log.trim().split('\n');
    expect(lines[1]).toBe('{"level":30,"msg":"working"}');
    expect(lines[2]).toMatch(/^\S+ \[runner\] result: \{"rows":12,"table":"prices"\}$/);
    expect(lines[3]).toMatch(/^\S+ \[runner\] exit 0$/);
  });

  it('cuts a long result, saying how much is left out; a failed command has no result line', async () => {
    const { log } = await run({ ok: true, data: { text: 'x'.repeat(RESULT_LOG_CHARS * 2) } });
    const line = log.split('\n').find((l) => l.includes('[runner] result: '))!;
    expect(line.length).toBeLessThan(RESULT_LOG_CHARS + 200);
    expect(line).toMatch(/… \(8011 characters\); the whole result is the task's summary: runs show$/);
    const failed = await run({ ok: false, error: { code: 'SP_ERR_SOURCE_NOT_FOUND', message: 'no such folder' } });
    expect((failed.result as { code?: string }).code).toBe('SP_ERR_SOURCE_NOT_FOUND');
    expect(failed.log).not.toMatch(/\[runner\] result/);
    expect(failed.log).toMatch(/\[runner\] exit 1 SP_ERR_SOURCE_NOT_FOUND\n$/);
  });

  // Probed with a workspace path holding a space and a quote: the logged line split it into several words.
  it("logs the command line as shell words: pasted into a shell, it gives back the same arguments", async () => {
    const dir = await tempDir('subprocess');
    const main = join(dir, 'fake-main.cjs');
    await writeFile(main, FAKE_MAIN);
    const logPath = join(dir, 'task.log');
    const args = [JSON.stringify({ ok: true, data: {} }), '--workspace', "/tmp/my data/it's $HOME;`x`", '--date', '2020-01-02', ''];
    await runCommandProcess({ mainScript: main, args, logPath, signal: new AbortController().signal });
    const line = (await readFile(logPath, 'utf8')).split('\n')[0]!;
    expect(line).toMatch(/^\S+ \[runner\] \$ stockpipe '\{"ok":true,"data":\{\}\}' --workspace '\/tmp\/my data\/it'\\''s \$HOME;`x`' --date 2020-01-02 ''$/);
    const words = execFileSync('sh', ['-c', `for w in ${line.split(' $ stockpipe ')[1]}; do printf '%s\\0' "$w"; done`], { encoding: 'utf8' });
    expect(words.split('\0').slice(0, -1)).toEqual(args);
  });

  // Probed on a full disk: the log stream's write error had no listener and crashed the scheduler (and could the runner).
  it('a task log that cannot be written neither crashes the caller nor changes the outcome', async () => {
    const dir = await tempDir('subprocess');
    const main = join(dir, 'fake-main.cjs');
    await writeFile(main, FAKE_MAIN);
    const logPath = join(dir, 'task.log');
    await mkdir(logPath); // a folder where the log goes: opening it fails
    const ok = await runCommandProcess({ mainScript: main, args: [JSON.stringify({ ok: true, data: { rows: 1 } })], logPath, signal: new AbortController().signal });
    expect(ok).toEqual({ rows: 1 });
    const failed = await runCommandProcess({ mainScript: main, args: [JSON.stringify({ ok: false, error: { code: 'SP_ERR_DISK_FULL', message: 'full' } })], logPath, signal: new AbortController().signal }).catch((err: unknown) => err);
    expect((failed as { code?: string }).code).toBe('SP_ERR_DISK_FULL');
  });
});
