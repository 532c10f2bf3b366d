import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../core/workspace.js';
import { openRegistry } from '../registry/store.js';
import { championText } from './champion-text.js';

describe("the lines a finished run ends with", () => {
  // Probed: a champion whose folder was deleted outside stockpipe made a finished `run daily` exit 1 with
  // SP_ERR_MODEL_MISSING (`--json`: ok false) while printing this summary, though the run had finished.
  it('sum up a champion whose folder is gone from the store, with a note, instead of failing', () => {
    const root = mkdtempSync(join(tmpdir(), 'sp-champion-text-'));
    const reg = openRegistry(new Workspace(root));
    try {
      const dir = join(root, 'models', 'forecast-a');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'model.json'), '{}');
      reg.registerModel({ model_id: 'forecast-a', kind: 'forecast', path: dir, metrics: { forecast: { skill_volume: 0.1, skill_adj_close: 0.02 } }, test_slice: null });
      reg.setAlias('forecast_champion', 'forecast-a', 'manual');
      expect(championText(reg)).toEqual(['forecast_champion forecast-a: next-day skill against persistence: volume 10.0%, Adj Close 2.0%']);
      rmSync(dir, { recursive: true });
      expect(championText(reg)).toEqual([
        'forecast_champion forecast-a: next-day skill against persistence: volume 10.0%, Adj Close 2.0%',
        `  note: ${join(dir, 'model.json')} is missing: nothing can load forecast_champion (restore ${dir}, or promote another model)`,
      ]);
    } finally {
      reg.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
