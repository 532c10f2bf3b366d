/** A model folder's temp: a killed writer's is swept by the next model write. */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import { writeModelFolder } from './artifacts.js';

const deadPid = spawnSync(process.execPath, ['-e', '']).pid!;
const files = { modelJson: '{}', metrics: {}, trainingLog: '', card: '# card\n' };

describe('writeModelFolder', () => {
  // Probed: a train SIGKILLed while writing its model folder left models/<id>.tmp-<pid> for good (named after a model id never written again).
  it('sweeps the temps of writers that are gone, keeps a live one\'s, and leaves only the model folder', async () => {
    const ws = new Workspace(await tempDir('artifacts'));
    const dead = join(ws.modelsDir, `.model.tmp-${deadPid}-x1`);
    const live = join(ws.modelsDir, `.model.tmp-${process.ppid}-x1`);
    for (const d of [dead, live]) {
      await mkdir(d, { recursive: true });
      await writeFile(join(d, 'model.json'), '{');
    }
    const dir = await writeModelFolder(ws, 'gbdt-1', files);
    expect(dir).toBe(ws.modelDir('gbdt-1'));
    expect((await readdir(ws.modelsDir)).sort()).toEqual([`.model.tmp-${process.ppid}-x1`, 'gbdt-1']);
    expect(existsSync(join(dir, 'card.md'))).toBe(true);
    // A second write's own temp is gone after it, as the first's was.
    await writeModelFolder(ws, 'gbdt-2', files);
    expect((await readdir(ws.modelsDir)).filter((n) => n.includes('.tmp-'))).toEqual([`.model.tmp-${process.ppid}-x1`]);
  });
});
