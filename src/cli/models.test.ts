/** `models compare` for people: what it says beside the metrics table; `models at` for an alias that held nothing then, or never. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Workspace } from '../core/workspace.js';
import { openRegistry, type ModelKind } from '../registry/store.js';
import type { CommandContext } from './context.js';
import { modelsAtCommand, modelsCompareCommand, modelsHistoryCommand } from './models.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sp-models-cli-'));
  const reg = openRegistry(new Workspace(dir));
  try {
    for (const [id, kind] of [['g1', 'gbdt'], ['g2', 'gbdt'], ['f1', 'forecast']] as [string, ModelKind][]) {
      const path = join(dir, 'models', id);
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'model.json'), '{}');
      const slice = { date_min: '2020-05-27', date_max: '2020-12-31', rows: 1000, data_hash: (kind === 'forecast' ? 'e' : 'f').repeat(64) };
      const selection = { kind: 'cv' as const, data_hash: slice.data_hash, windows: [{ from: '2019-01-02', to: '2020-05-26', rows: 300 }], metrics: (kind === 'forecast' ? { mae_volume: 5 } : { rmse_log: id === 'g1' ? 0.5 : 0.6 }) as Record<string, number> };
      reg.registerModel({ model_id: id, kind, path, metrics: { [kind]: kind === 'forecast' ? { mae_volume: 5 } : { mae: 10, rmse: 20, r2: 0.5, mae_log: 0.4, rmse_log: 0.5, r2_log: 0.9 } }, test_slice: { ...slice, selection } });
    }
  } finally {
    reg.close();
  }
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('models compare', () => {
  const ctx = (): CommandContext => ({ ws: new Workspace(dir), now: () => new Date() }) as unknown as CommandContext;

  // Probed: a volume model beside a day-ahead one said "different test slices; re-evaluate both on one slice" and that
  // promotion would re-score the holder on the candidate's rows, though no alias takes both and promotion refuses the pair.
  it('a volume model and a day-ahead model are said not to be comparable, with the alias each goes to', async () => {
    const { human } = await modelsCompareCommand(ctx(), 'g1', 'f1');
    expect(human).toContain('not comparable: A is a gbdt volume model and B a day-ahead forecast model');
    expect(human).toContain('(champion takes A\'s kind, forecast_champion B\'s)');
    expect(human).not.toMatch(/re-evaluate both|re-scores the holder|backtest \(what promotion compares/);
  });

  it('two volume models get the test-slice and backtest lines', async () => {
    const { human } = await modelsCompareCommand(ctx(), 'g1', 'g2');
    expect(human).toContain('same test slice: the metrics compare directly');
    expect(human).toMatch(/backtest \(what promotion compares, never the test slice\), rmse_log: A 0\.5 .* B 0\.6 .*\(same rows\)/);
    expect(human).not.toContain('not comparable');
  });
});

describe('models at', () => {
  const ctx = (): CommandContext => ({ ws: new Workspace(dir), now: () => new Date() }) as unknown as CommandContext;

  // Probed: `models at T --alias champoin` (an alias never used) said "no model held 'champoin' at T", as for an alias empty then.
  it('an alias that never pointed at a model is SP_ERR_MODEL_NOT_FOUND naming the aliases; one that held nothing then says when it first did', async () => {
    const reg = openRegistry(new Workspace(dir));
    let since: string;
    try {
      since = reg.setAlias('challenger', 'g2', 'manual')!.at;
    } finally {
      reg.close();
    }
    await expect(modelsAtCommand(ctx(), '2030-01-01', { alias: 'challenegr' })).rejects.toMatchObject({ code: 'SP_ERR_MODEL_NOT_FOUND', message: "no alias 'challenegr': it never pointed at a model (the aliases: challenger)" });
    const before = await modelsAtCommand(ctx(), '2000-01-01', { alias: 'challenger' });
    expect(before.data.model_id).toBeNull();
    expect(before.human).toBe(`no model held 'challenger' at 2000-01-01T00:00:00.000Z: its first model, g2, took it at ${since}`);
    expect((await modelsAtCommand(ctx(), '2030-01-01', { alias: 'challenger' })).data.model_id).toBe('g2');
    // The two aliases of the model families always exist, empty or not.
    const empty = await modelsAtCommand(ctx(), '2030-01-01', { alias: 'forecast_champion' });
    expect([empty.data.model_id, empty.human]).toEqual([null, "no model held 'forecast_champion' at 2030-01-01T00:00:00.000Z: no model has held it yet"]);
  });
});

describe('models history --alias', () => {
  const ctx = (): CommandContext => ({ ws: new Workspace(dir), now: () => new Date() }) as unknown as CommandContext;

  // Probed: `models history --alias champoin` (a typo) printed "no alias moves for 'champoin'", exit 0, as for an alias
  // that is empty; `models at --alias champoin` is SP_ERR_MODEL_NOT_FOUND naming the aliases.
  it('an alias that never pointed at a model is SP_ERR_MODEL_NOT_FOUND naming the aliases, as for models at', async () => {
    const reg = openRegistry(new Workspace(dir));
    try {
      reg.setAlias('challenger', 'g2', 'manual');
    } finally {
      reg.close();
    }
    await expect(modelsHistoryCommand(ctx(), { alias: 'challenegr' })).rejects.toMatchObject({ code: 'SP_ERR_MODEL_NOT_FOUND', message: "no alias 'challenegr': it never pointed at a model (the aliases: challenger)" });
    expect((await modelsHistoryCommand(ctx(), { alias: 'challenger' })).data.map((m) => m.model_id)).toEqual(['g2']);
    // The two aliases of the model families always exist, empty or not.
    const empty = await modelsHistoryCommand(ctx(), { alias: 'forecast_champion' });
    expect([empty.data, empty.human]).toEqual([[], "no alias moves for 'forecast_champion'"]);
  });
});
