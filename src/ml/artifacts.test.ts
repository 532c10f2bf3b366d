/** A model folder's temp: a killed writer's is swept by the next model write; a model's metrics.json as its readers get it. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { readHeldOutFrom, readMetricsOrNull, writeModelFolder } from './artifacts.js';

const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
const files = { modelJson: '{}', metrics: {}, trainingLog: '', card: '# card\n' };

describe('writeModelFolder', () => {
  // Probed: a train SIGKILLed while writing its model folder left models/<id>.tmp-<pid> for good (named after a model id never written again).
  it('sweeps the temps of writers that are gone, keeps a live one\'s, and leaves only the model folder', async () => {
    const ws = new Workspace(await tempDir('artifacts'));
    const dead = join(ws.modelsDir, `.model.tmp-${deadPid}-x1`);
    const live = join(ws.modelsDir, `.model.tmp-${process.ppid}-x1`);
    // Probed: earlier versions named a model's temp after its id (`models/<id>.tmp-<pid>`): a killed train's stayed
    // until a pipeline run started (`stockpipe train` alone never swept it).
    const legacy = join(ws.modelsDir, `gbdt-0.tmp-${deadPid}`);
    const legacyLive = join(ws.modelsDir, `gbdt-00.tmp-${process.ppid}`);
    // Probed: a dead pid's temp written just now may be a worker's of another machine on a shared workspace
    // (its pid means nothing here): it was swept at once, under that train's feet. Kept until an hour old.
    const recent = join(ws.modelsDir, `.model.tmp-${deadPid}-x2`);
    const hourAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const d of [dead, live, legacy, legacyLive, recent]) {
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'model.json'), '{');
      if (d !== recent) {
        await utimes(join(d, 'model.json'), hourAgo, hourAgo);
        await utimes(d, hourAgo, hourAgo);
      }
    }
    const dir = await writeModelFolder(ws, 'gbdt-1', files);
    expect(dir).toBe(ws.modelDir('gbdt-1'));
    expect((await readdir(ws.modelsDir)).sort()).toEqual([`.model.tmp-${deadPid}-x2`, `.model.tmp-${process.ppid}-x1`, `gbdt-00.tmp-${process.ppid}`, 'gbdt-1'].sort());
    await rm(recent, { recursive: true });
    expect(existsSync(join(dir, 'card.md'))).toBe(true);
    // A second write's own temp is gone after it, as the first's was.
    await writeModelFolder(ws, 'gbdt-2', files);
    expect((await readdir(ws.modelsDir)).filter((n) => n.includes('.tmp-')).sort()).toEqual([`.model.tmp-${process.ppid}-x1`, `gbdt-00.tmp-${process.ppid}`]);
  });
});

describe('readMetricsOrNull, readHeldOutFrom', () => {
  it('read the split of a metrics.json; null when it is gone or records none; SP_ERR_MODEL_FORMAT naming a damaged one', async () => {
    const m = { id: 'forecast-1', path: await tempDir('metrics') };
    const file = join(m.path, 'metrics.json');
    expect([await readMetricsOrNull(m), await readHeldOutFrom(m)]).toEqual([null, null]);
    for (const [split, first] of [[{ kind: 'time', valid_from: '2020-03-02', test_from: '2020-04-01' }, '2020-03-02'], [{ kind: 'time', valid_from: null, test_from: '2020-04-01' }, '2020-04-01'], [{ kind: 'time', valid_from: null, test_from: null }, null], [null, null], [undefined, null]] as const) {
      await writeFile(file, JSON.stringify({ split }));
      expect(await readHeldOutFrom(m), JSON.stringify(split)).toBe(first);
    }
    expect((await readMetricsOrNull(m))?.doc).toEqual({});
    for (const [text, why] of [['{"split": ', 'is not valid JSON'], ['null', 'holds no JSON object'], ['[1]', 'holds no JSON object'], ['{"split": {"valid_from": 7}}', 'has no valid split (valid_from or test_from 7 is no day']] as const) {
      await writeFile(file, text);
      const err = await readHeldOutFrom(m).catch((e: unknown) => e);
      expect(err, text).toMatchObject({ code: 'SP_ERR_MODEL_FORMAT', message: expect.stringContaining(`model forecast-1: ${file} ${why}`) });
    }
    await rm(file);
    await mkdir(file);
    expect(await readHeldOutFrom(m).catch((e: unknown) => e)).toMatchObject({ code: 'SP_ERR_MODEL_FORMAT', message: `model forecast-1: ${file} is not a regular file (a folder)` });
  });
});
