/** registry/promote: the kind rule every alias move obeys (docs/models.md), and promote()'s outcomes
 * (first, promoted, kept, not_requested), the re-scoring hook and the refusal a person gets. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StockpipeError } from '../core/errors.js';
import { compareModelVersions, promote, type PromoteOptions, type Rescored } from './promote.js';
import { openRegistry, registryPath, type ModelKind, type PromoteDecision, type Registry, type TestSlice } from './store.js';

let ws: string;
let reg: Registry;
let t: number;
const SLICE: TestSlice = { date_min: '2020-05-27', date_max: '2020-12-31', rows: 1000, data_hash: 'f'.repeat(64) };
const OTHER_SLICE: TestSlice = { ...SLICE, date_min: '2021-01-01', data_hash: 'e'.repeat(64) };

/**
 * A model whose backtest (selection) score is `value` on folds tied to `slice`'s data (null: a model
 * registered before the protocol, no backtest), and whose test score is `test` (default: the same).
 */
async function register(id: string, kind: ModelKind, value: number | null = 0.5, slice: TestSlice = SLICE, test = value ?? 0.5): Promise<void> {
  const dir = join(ws, 'models', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), '{}');
  const own: Record<string, number> = kind === 'forecast' ? { mae_volume: test } : { mae: 10, rmse: 20, r2: 0.5, mae_log: test, rmse_log: test, r2_log: 1 - test };
  const selection = value === null ? undefined : { kind: 'cv' as const, data_hash: slice.data_hash, windows: [{ from: '2019-01-02', to: slice.date_min, rows: 300 }], metrics: (kind === 'forecast' ? { mae_volume: value } : { rmse_log: value }) as Record<string, number> };
  reg.registerModel({ model_id: id, kind, path: dir, metrics: { [kind]: own }, test_slice: { ...slice, selection } });
}

async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof StockpipeError) return err.code;
    throw err;
  }
  return 'ok';
}

beforeEach(async () => {
  ws = await mkdtemp(join(tmpdir(), 'sp-promote-'));
  t = Date.parse('2024-01-01T00:00:00.000Z');
  reg = openRegistry(ws, { now: () => new Date((t += 1000)) });
  for (const [id, kind] of [['g1', 'gbdt'], ['r1', 'rf'], ['p1', 'polyreg'], ['n1', 'naive'], ['f1', 'forecast'], ['f2', 'forecast']] as const) await register(id, kind);
});
afterEach(async () => {
  reg.close();
  await rm(ws, { recursive: true, force: true });
});

describe('an alias only takes a model of its kind, whoever promotes', () => {
  // [alias, the model it first pointed at (null: never moved), candidate, force, expected code or 'ok']
  const cases: [string, string | null, string, boolean, string][] = [
    ['champion', null, 'f1', false, 'SP_ERR_PROMOTE_KIND'],
    ['champion', null, 'f1', true, 'SP_ERR_PROMOTE_KIND'],
    ['champion', 'g1', 'f1', true, 'SP_ERR_PROMOTE_KIND'],
    ['forecast_champion', null, 'g1', false, 'SP_ERR_PROMOTE_KIND'],
    ['forecast_champion', null, 'p1', true, 'SP_ERR_PROMOTE_KIND'],
    ['forecast_champion', 'f1', 'n1', true, 'SP_ERR_PROMOTE_KIND'],
    ['champion', null, 'r1', false, 'ok'],
    ['champion', 'g1', 'n1', true, 'ok'],
    ['forecast_champion', null, 'f1', false, 'ok'],
    ['forecast_champion', 'f1', 'f2', true, 'ok'],
    ['challenger', null, 'f1', false, 'ok'], // a new alias takes any kind
    ['challenger', null, 'g1', false, 'ok'],
    ['challenger', 'g1', 'f1', true, 'SP_ERR_PROMOTE_KIND'], // then the family of its first model
    ['challenger', 'g1', 'p1', true, 'ok'],
    ['my-forecasts', 'f1', 'g1', true, 'SP_ERR_PROMOTE_KIND'],
    ['my-forecasts', 'f1', 'f2', true, 'ok'],
  ];
  it.each(cases)('%s (first %s) ← %s, force %s → %s', async (alias, first, cand, force, want) => {
    if (first !== null) reg.setAlias(alias, first, 'manual');
    const before = reg.aliasHistory(alias).length;
    expect(await codeOf(() => promote(reg, cand, alias, { force, trigger: 'manual' }))).toBe(want);
    if (want !== 'ok') expect(reg.aliasHistory(alias)).toHaveLength(before); // nothing moved
    // the store's own alias write obeys the same rule (no path around it)
    expect(await codeOf(() => reg.setAlias(alias, cand, 'forced'))).toBe(want);
  });

  it('a new alias that differs from a known one only by case is refused, naming it (it started an alias nothing reads)', async () => {
    for (const [alias, meant] of [['Champion', 'champion'], ['FORECAST_CHAMPION', 'forecast_champion']]) {
      const err = await promote(reg, 'g1', alias!, { force: true }).catch((e: unknown) => e);
      expect([(err as StockpipeError).code, (err as StockpipeError).hint]).toEqual(['SP_ERR_USAGE', `Use '${meant}'.`]);
      expect(reg.aliasHistory(alias)).toHaveLength(0);
    }
    reg.setAlias('nightly', 'g1', 'manual');
    expect(await codeOf(() => reg.setAlias('Nightly', 'g1', 'forced'))).toBe('SP_ERR_USAGE');
    expect(await codeOf(() => reg.setAlias('nightly-2', 'g1', 'forced'))).toBe('ok'); // another name is another alias
  });

  it('an alias spelled as a model id is refused (the id is looked up first: nothing could read it)', async () => {
    expect(await codeOf(() => promote(reg, 'g1', 'r1', { force: true, trigger: 'manual' }))).toBe('SP_ERR_USAGE');
    expect(await codeOf(() => reg.setAlias('g1', 'g1', 'manual'))).toBe('SP_ERR_USAGE');
    expect(reg.aliasHistory('r1')).toHaveLength(0);
    expect(reg.findModel('r1')?.id).toBe('r1');
  });

  it('the error names the model, its kind, the alias and the kind it takes', async () => {
    const err = await promote(reg, 'f1', 'champion', { force: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StockpipeError);
    expect((err as StockpipeError).message).toMatch(/f1.*forecast.*'champion'.*volume/);
    expect((err as StockpipeError).hint).toMatch(/forecast_champion/);
  });
});

describe('promote() outcomes', () => {
  const rescored: string[] = [];
  const rescore = async (c: { id: string }, h: { id: string }, metric: string): Promise<Rescored> => {
    rescored.push(`${h.id} on ${c.id} (${metric})`);
    return { value: 0.45, candidate_value: null, on: `${c.id}'s folds` };
  };
  // [what, holder (null: empty), candidate and its rmse_log and slice, options, expected decision fields, re-scored?]
  const cases: [string, string | null, [string, number, TestSlice], PromoteOptions, Partial<PromoteDecision> | string, boolean][] = [
    ['empty alias, plain train', null, ['c', 0.9, SLICE], { mode: 'if-empty' }, { outcome: 'first', promoted: true, from: null, to: 'c' }, false],
    ['empty alias, if better', null, ['c', 0.9, SLICE], {}, { outcome: 'first', promoted: true, from: null, to: 'c' }, false],
    ['held, plain train', 'g1', ['c', 0.1, SLICE], { mode: 'if-empty' }, { outcome: 'not_requested', promoted: false, from: 'g1', to: 'g1' }, false],
    ['held, better', 'g1', ['c', 0.4, SLICE], {}, { outcome: 'promoted', promoted: true, from: 'g1', to: 'c', champion_value: 0.5, candidate_value: 0.4 }, false],
    ['held, worse', 'g1', ['c', 0.6, SLICE], {}, { outcome: 'kept', promoted: false, from: 'g1', to: 'g1' }, false],
    ['held, worse, a person asked', 'g1', ['c', 0.6, SLICE], { refuseIfNotBetter: true }, 'SP_ERR_PROMOTE_REFUSED', false],
    ['held, worse, forced', 'g1', ['c', 0.6, SLICE], { force: true, refuseIfNotBetter: true }, { outcome: 'promoted', promoted: true, to: 'c' }, false],
    ['held, other slice: holder re-scored, candidate better', 'g1', ['c', 0.4, OTHER_SLICE], {}, { outcome: 'promoted', holder_rescored: true, champion_value: 0.45 }, true],
    ['held, other slice: holder re-scored, candidate worse', 'g1', ['c', 0.5, OTHER_SLICE], {}, { outcome: 'kept', holder_rescored: true }, true],
    ['held, other slice, plain train: nothing re-scored', 'g1', ['c', 0.1, OTHER_SLICE], { mode: 'if-empty' }, { outcome: 'not_requested' }, false],
    ['already the holder', 'c', ['c', 0.5, SLICE], { refuseIfNotBetter: true }, { outcome: 'kept', promoted: false, from: 'c', to: 'c' }, false],
  ];
  it.each(cases)('%s', async (_what, holder, [id, value, slice], opts, want, rescoreCalled) => {
    rescored.length = 0;
    await register(id, 'gbdt', value, slice);
    if (holder !== null) reg.setAlias('champion', holder, 'manual');
    if (typeof want === 'string') {
      expect(await codeOf(() => promote(reg, id, 'champion', { ...opts, rescore }))).toBe(want);
    } else {
      expect(await promote(reg, id, 'champion', { ...opts, rescore })).toMatchObject(want);
      expect(reg.aliasTarget('champion')).toBe(want.outcome === 'first' || want.outcome === 'promoted' ? id : holder);
    }
    expect(rescored).toEqual(rescoreCalled ? [`${holder} on ${id} (rmse_log)`] : []);
  });

  it('picks by the backtest (CV) score, never by the test score, and says so in the history', async () => {
    // holder: the better test score (0.30) but the worse CV score (0.60); candidate: test 0.50, CV 0.55
    await register('h', 'gbdt', 0.6, SLICE, 0.3);
    await register('c', 'gbdt', 0.55, SLICE, 0.5);
    reg.setAlias('champion', 'h', 'manual');
    const d = await promote(reg, 'c', 'champion', {});
    expect(d).toMatchObject({ outcome: 'promoted', candidate_value: 0.55, champion_value: 0.6, holder_rescored: false });
    expect(d.compared).toMatch(/^rmse_log on cv over 1 pre-test fold/);
    expect(reg.aliasHistory('champion').at(-1)!.note).toMatch(/compared rmse_log on cv over 1 pre-test fold/);
    // and the other way round: better on test (0.10), worse on CV (0.70) → kept
    await register('c2', 'gbdt', 0.7, SLICE, 0.1);
    expect(await promote(reg, 'c2', 'champion', {})).toMatchObject({ outcome: 'kept', candidate_value: 0.7, champion_value: 0.55 });
    expect(reg.aliasTarget('champion')).toBe('c');
  });

  it('a holder registered without a backtest score (before the protocol) is re-scored on the candidate\'s folds', async () => {
    await register('old', 'gbdt', null, SLICE, 0.1);
    await register('c', 'gbdt', 0.5, SLICE, 0.6);
    reg.setAlias('champion', 'old', 'manual');
    rescored.length = 0;
    expect(await promote(reg, 'c', 'champion', { rescore })).toMatchObject({ outcome: 'kept', holder_rescored: true, champion_value: 0.45, candidate_value: 0.5, compared: "rmse_log on c's folds" });
    expect(rescored).toEqual(['old on c (rmse_log)']);
    // without a re-scorer (the store's own promoteIfBetter) it cannot be compared: refused, not decided on the test slice
    expect(await codeOf(() => promote(reg, 'c', 'champion', {}))).toBe('SP_ERR_PROMOTE_REFUSED');
    // a candidate without a backtest (a random split): the re-scorer measures both, or the promotion is refused
    await register('rnd', 'gbdt', null, SLICE, 0.01);
    const both = async (): Promise<Rescored> => ({ value: 0.45, candidate_value: 0.47, on: 'the default folds (both re-scored there)' });
    expect(await promote(reg, 'rnd', 'champion', { rescore: both })).toMatchObject({ outcome: 'kept', candidate_value: 0.47, candidate_rescored: true });
    expect(await codeOf(() => promote(reg, 'rnd', 'champion', { rescore: async () => undefined, refuseIfNotBetter: true }))).toBe('SP_ERR_PROMOTE_REFUSED');
  });

  it('a retrain by the holder\'s own procedure on newer data is promoted without re-scoring the holder on rows its refit saw', async () => {
    const withProcedure = async (id: string, value: number, slice: TestSlice, procedure: string): Promise<void> => {
      await register(id, 'forecast', value, slice);
      const m = reg.getModel(id, { checkFiles: false });
      new Database(registryPath(ws)).prepare('UPDATE model_versions SET test_slice = ? WHERE model_id = ?').run(JSON.stringify({ ...m.test_slice, selection: { ...m.test_slice!.selection, procedure } }), id);
    };
    const newer: TestSlice = { ...SLICE, date_min: '2020-06-01', date_max: '2021-01-15', data_hash: 'd'.repeat(64) };
    await withProcedure('fh', 0.4, SLICE, 'a'.repeat(64));
    await withProcedure('fc', 0.5, newer, 'a'.repeat(64)); // worse on its own rows: a re-scored holder (0.45) would keep the alias
    reg.setAlias('forecast_champion', 'fh', 'manual');
    rescored.length = 0;
    const d = await promote(reg, 'fc', 'forecast_champion', { rescore });
    expect(d).toMatchObject({ outcome: 'promoted', holder_rescored: false, champion_value: null, candidate_value: 0.5 });
    expect(d.compared).toMatch(/^the same training procedure as fh \(aaaaaaaaaaaa\) on newer data \(to 2021-01-15, against 2020-12-31\)/);
    expect(rescored).toEqual([]);
    expect(reg.aliasHistory('forecast_champion').at(-1)!.note).toMatch(/^retrained: the same training procedure/);
    // Another procedure, or the same one on older data (a backfill), is compared as before: the holder re-scored.
    await withProcedure('fo', 0.5, { ...newer, date_max: '2021-02-01', data_hash: 'c'.repeat(64) }, 'b'.repeat(64));
    expect(await promote(reg, 'fo', 'forecast_champion', { rescore })).toMatchObject({ outcome: 'kept', holder_rescored: true });
    await withProcedure('fold', 0.5, SLICE, 'a'.repeat(64));
    expect(await promote(reg, 'fold', 'forecast_champion', { rescore })).toMatchObject({ outcome: 'kept', holder_rescored: true });
    expect(rescored).toEqual(['fc on fo (mae_volume)', 'fc on fold (mae_volume)']);
    // models compare says which pairs share a procedure.
    expect(compareModelVersions(reg, 'fh', 'fc').backtest).toMatchObject({ same_rows: false, same_procedure: true, retrain: 'b' });
    expect(compareModelVersions(reg, 'fc', 'fh').backtest).toMatchObject({ same_procedure: true, retrain: 'a' });
    expect(compareModelVersions(reg, 'fc', 'fold').backtest).toMatchObject({ same_procedure: true, retrain: 'a' });
    expect(compareModelVersions(reg, 'fc', 'fo').backtest).toMatchObject({ same_rows: false, same_procedure: false, retrain: null });
    // A metric the retrain's backtest lacks is refused, as for any candidate (not promoted without a comparison).
    await withProcedure('fnew', 0.5, { ...newer, date_max: '2021-03-01', data_hash: 'b'.repeat(64) }, 'a'.repeat(64));
    expect(await codeOf(() => promote(reg, 'fnew', 'forecast_champion', { rescore, metric: 'mae_adj_close' }))).toBe('SP_ERR_PROMOTE_REFUSED');
    expect(await promote(reg, 'fnew', 'forecast_champion', { rescore })).toMatchObject({ outcome: 'promoted', holder_rescored: false });
    expect(compareModelVersions(reg, 'f1', 'f2').backtest.same_procedure).toBe(false); // registered before fingerprints
  });

  it('the first model of an alias is recorded as "first" in the history (with the caller\'s note)', async () => {
    await promote(reg, 'g1', 'champion', { mode: 'if-empty', trigger: 'auto' });
    await promote(reg, 'f1', 'forecast_champion', { trigger: 'auto', note: 'pipeline run r1' });
    await promote(reg, 'g1', 'challenger', { trigger: 'auto', note: '' }); // an empty note (`--note ''`) adds nothing
    expect(reg.aliasHistory().map((m) => [m.alias, m.model_id, m.reason, m.note])).toEqual([
      ['champion', 'g1', 'auto', 'first'],
      ['forecast_champion', 'f1', 'auto', 'pipeline run r1 (first)'],
      ['challenger', 'g1', 'auto', 'first'],
    ]);
  });

  // Probed after issue 16: a holder whose folder was gone made every promotion fail (SP_ERR_MODEL_MISSING), --force included.
  it('a holder whose model.json is gone is replaced by any loadable candidate, never re-scored; plain train still leaves it', async () => {
    await register('h', 'gbdt', 0.1, SLICE);
    await register('c', 'gbdt', 0.9, OTHER_SLICE); // worse, on other rows: it would be kept, or refused to a person
    reg.setAlias('champion', 'h', 'manual');
    await rm(join(ws, 'models', 'h'), { recursive: true });
    rescored.length = 0;
    expect(await promote(reg, 'c', 'champion', { mode: 'if-empty', rescore })).toMatchObject({ outcome: 'not_requested' });
    const d = await promote(reg, 'c', 'champion', { refuseIfNotBetter: true, rescore });
    expect(d).toMatchObject({ outcome: 'promoted', from: 'h', to: 'c' });
    expect(d.reason).toContain('whose model.json is missing');
    expect(rescored).toEqual([]);
    expect(reg.aliasHistory('champion').at(-1)!.note).toContain('whose model.json is missing');
    // a candidate whose files are gone is still refused
    await rm(join(ws, 'models', 'g1'), { recursive: true });
    expect(await codeOf(() => promote(reg, 'g1', 'champion', { force: true }))).toBe('SP_ERR_MODEL_MISSING');
  });

  it('a holder whose model.json is there but does not load (loads throws SP_ERR_MODEL_FORMAT) is replaced as a missing one is', async () => {
    await register('h', 'gbdt', 0.1, SLICE);
    await register('c', 'gbdt', 0.9, SLICE); // worse on the same rows: it would be refused to a person
    reg.setAlias('champion', 'h', 'manual');
    const loads = async (m: { id: string }): Promise<void> => {
      if (m.id === 'h') throw new StockpipeError('SP_ERR_MODEL_FORMAT', 'models/h/model.json is not valid JSON');
    };
    rescored.length = 0;
    const d = await promote(reg, 'c', 'champion', { refuseIfNotBetter: true, rescore, loads });
    expect(d).toMatchObject({ outcome: 'promoted', from: 'h', to: 'c' });
    expect(d.reason).toContain('whose model.json does not load');
    expect(rescored).toEqual([]);
    // any other error of the check is not swallowed
    reg.setAlias('champion', 'h', 'manual');
    const boom = async (): Promise<void> => {
      throw new StockpipeError('SP_ERR_REGISTRY', 'disk');
    };
    expect(await codeOf(() => promote(reg, 'c', 'champion', { loads: boom }))).toBe('SP_ERR_REGISTRY');
  });

  it('--metric of the other family is a usage error naming the right ones (it was refused as "not scored on the same rows")', async () => {
    reg.setAlias('champion', 'g1', 'manual');
    await register('c', 'gbdt', 0.4, SLICE);
    expect(await codeOf(() => promote(reg, 'c', 'champion', { metric: 'mae_volume' }))).toBe('SP_ERR_USAGE');
    expect(await codeOf(() => promote(reg, 'f2', 'forecast_champion', { metric: 'rmse_log' }))).toBe('SP_ERR_USAGE');
    expect(await codeOf(() => promote(reg, 'c', 'champion', { metric: 'rmse_log' }))).toBe('ok');
  });

  it('a holder of a kind the alias does not take (written before the rule) is replaced by a right-kind model', async () => {
    const db = new Database(registryPath(ws));
    db.prepare("INSERT INTO aliases (alias, model_id, updated_at) VALUES ('champion', 'f1', '2023-01-01T00:00:00.000Z')").run();
    db.close();
    const d = await promote(reg, 'g1', 'champion', { mode: 'if-empty' });
    expect(d).toMatchObject({ outcome: 'promoted', from: 'f1', to: 'g1' });
    expect(reg.aliasTarget('champion')).toBe('g1');
  });
});
