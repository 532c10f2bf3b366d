import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { failureOf } from '../../test/helpers/failure.js';
import { tempDir } from '../../test/helpers/temp.js';
import { readTaskLog, taskLogProblem } from './task-log.js';

describe('a task log as runs logs and the dashboard read it', () => {
  it('reads a regular file whole', async () => {
    const dir = await tempDir('task-log');
    const f = join(dir, 'ingest.log');
    await writeFile(f, '{"msg":"one"}\n{"msg":"two"}\n');
    expect(await taskLogProblem(f)).toBeNull();
    expect(await readTaskLog(f, 'ingest', 'r1')).toBe('{"msg":"one"}\n{"msg":"two"}\n');
  });

  it('says a removed log is gone, and a folder or a FIFO at its path is not a regular file, without waiting on the FIFO', async () => {
    const dir = await tempDir('task-log');
    expect(await taskLogProblem(join(dir, 'gone.log'))).toMatch(/^is gone/);
    await mkdir(join(dir, 'folder.log'));
    const folder = await failureOf(readTaskLog(join(dir, 'folder.log'), 'features', 'r1'));
    expect(folder.code).toBe('SP_ERR_RUN_NOT_FOUND');
    expect(folder.message).toContain("the log of task 'features' of run 'r1'");
    expect(folder.message).toContain('is not a regular file (a folder)');
    execFileSync('mkfifo', [join(dir, 'fifo.log')]);
    const fifo = await failureOf(readTaskLog(join(dir, 'fifo.log'), 'train', 'r1'));
    expect([fifo.code, fifo.message.includes('is not a regular file (a FIFO)')]).toEqual(['SP_ERR_RUN_NOT_FOUND', true]);
  });
});
