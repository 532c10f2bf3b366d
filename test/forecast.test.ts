/** The day-ahead forecast end to end (docs/data.md `--extended`, docs/models.md, docs/api.md GET /forecast/:symbol): features
 * --extended, train --task forecast, forecast, and the API route, on a small synthetic workspace.
 * beforeAll trains one forecast champion; tests that move aliases or add models do so in a copy,
 * so any test runs alone (`-t`) or in any order. */
import { existsSync, readFileSync } from 'node:fs';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { nextTradingDay, toDayNumber, tradingDays } from '../src/core/calendar.js';
import { EXTENDED_COLUMNS, laggedFeatures } from '../src/features/lagged.js';
import { Workspace } from '../src/core/workspace.js';
import { openDuckDB } from '../src/db/duckdb.js';
import type { StockpipeError } from '../src/core/errors.js';
import { FORECAST_FEATURES, frameHash, inputColumn, loadForecastFrame, loadLastRows } from '../src/ml/forecast-dataset.js';
import { forecastTestCut, scoreForecastOnTestSlice, streamedTrainBins, trainForecastModel } from '../src/ml/forecast-train.js';
import { silentProgress } from '../src/core/progress.js';
import { KNOWN_INPUTS } from '../src/ml/forecast-inputs.js';
import { forecastFromJSON, forecastToJSON } from '../src/ml/forecast-model.js';
import { featuresRead, loadWorkspaceForecastData } from '../src/ml/rescore.js';
import { currentSnapshot } from '../src/registry/catalog.js';
import { sourceOf } from '../src/store/read.js';
import { forecastsDue, forecastsFor, latestForecast } from '../src/registry/forecasts.js';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { runCliAsync, type CliDoc } from './helpers/cli.js';
import { silentLog, sql, tempWorkspace } from './helpers/workspace.js';
import { viewSource } from './helpers/store.js';


/** Runs the CLI without blocking: the describe blocks below run side by side, and so do independent commands of one test. */
async function sp(ws: string, args: string[]) {
  const r = await runCliAsync([...args, '-w', ws, '--json']);
  const why = r.code === null ? `killed by ${r.signal ?? '?'}\n` : '';
  return { code: r.code, json: r.json, stderr: `${args.join(' ')}: ${why}${r.stderr}` };
}

let ws = '';
/** A copy of `ws` as beforeAll left it, never written: what copyOfTrained copies (`ws` may be written meanwhile). */
let pristine = '';
let train: CliDoc['data'] = {};
/** A private copy of the trained workspace, for tests that add models or move aliases. */
async function copyOfTrained(): Promise<string> {
  const w = await tempWorkspace('forecast');
  await cp(pristine, w, { recursive: true });
  return w;
}

beforeAll(async () => {
  ws = await tempWorkspace('forecast-base');
  for (const step of [['fetch', '--symbols', '30', '--years', '3'], ['ingest'], ['features', '--extended']]) {
    const r = await sp(ws, step);
    expect(r.code, r.stderr).toBe(0);
  }
  const r = await sp(ws, ['train', '--task', 'forecast', '--trees', '40', '--promote-if-better']);
  expect(r.code, r.stderr).toBe(0);
  train = r.json.data;
  pristine = await tempWorkspace('forecast-pristine');
  await cp(ws, pristine, { recursive: true });
}, 180_000);

// The describe blocks run side by side, the tests of each one at a time (timeouts only bound a hang).
// Tests that add models or move aliases work in copies; the shared workspace only gets forecasts
// (one block writes them).

describe.concurrent('stockpipe features --extended', { timeout: 180_000 }, () => {
  it.sequential('keeps every plain column and adds the lagged ones; a plain rebuild is a different cache key', async () => {
    const cols = (await sql(`DESCRIBE SELECT * FROM ${viewSource(ws, 'features')}`)).map((c) => c.column_name);
    for (const c of ['Symbol', 'Date', 'Adj Close', 'Volume', 'vol_moving_avg', 'adj_close_rolling_med', 'ret_1', 'vol_20', 'log_volume', 'dow']) expect(cols).toContain(c);
    const again = await sp(ws, ['features', '--extended']);
    expect(again.json.data.cached).toBe(true);
    expect(again.json.data.extended).toBe(true);
  });

  it.sequential('the written lagged columns equal the kernel run on each symbol\'s own rows (nulls where NaN)', async () => {
    const rows = await sql(`SELECT "Symbol" AS s, "Date" AS d, "High" AS h, "Low" AS l, "Adj Close" AS a, "Volume"::DOUBLE AS v, ${EXTENDED_COLUMNS.map((c) => `"${c}"`).join(', ')} FROM ${viewSource(ws, 'features')} ORDER BY 1, 2`);
    const bySymbol = new Map<string, Record<string, unknown>[]>();
    for (const r of rows) bySymbol.set(String(r.s), [...(bySymbol.get(String(r.s)) ?? []), r]);
    let checked = 0;
    for (const rs of bySymbol.values()) {
      const n = rs.length;
      const col = (k: string): Float64Array => Float64Array.from(rs, (r) => Number(r[k]));
      const out = EXTENDED_COLUMNS.map(() => new Float64Array(n));
      laggedFeatures({ rows: n, day: Int32Array.from(rs, (r) => toDayNumber(String(r.d))), high: col('h'), low: col('l'), adjClose: col('a'), volume: col('v') }, out);
      EXTENDED_COLUMNS.forEach((c, j) => {
        for (let i = 0; i < n; i++) {
          const got = rs[i]![c];
          const want = out[j]![i]!;
          if (Number.isNaN(want)) expect(got, `${c}[${i}]`).toBeNull();
          else expect(got, `${c}[${i}]`).toBe(want);
          checked++;
        }
      });
    }
    expect(checked).toBe(rows.length * EXTENDED_COLUMNS.length);
  });
});

describe.concurrent('stockpipe train --task forecast', { timeout: 180_000 }, () => {
  it.sequential('reports skill against persistence (finite), the baselines, and registers kind forecast under forecast_champion', async () => {
    expect(train.kind).toBe('forecast');
    expect(train.split).toMatchObject({ kind: 'time', leaky: false, on: 'target_day' });
    expect(train.rows_train).toBeGreaterThan(0);
    expect(train.rows_test).toBeGreaterThan(0);
    for (const k of ['adj_close', 'return', 'volume', 'volume_log']) expect(Number.isFinite(train.skill[k]), k).toBe(true);
    const m = train.metrics;
    expect(Object.keys(m).sort()).toEqual(['forecast', 'persistence', 'vol_ma_20']);
    for (const k of ['mae_adj_close', 'rmse_adj_close', 'mae_return', 'mae_volume', 'rmse_volume', 'mae_volume_log', 'rmse_volume_log', 'skill_adj_close', 'skill_volume']) {
      expect(Number.isFinite(m.forecast[k]), `forecast.${k}`).toBe(true);
      expect(Number.isFinite(m.persistence[k]), `persistence.${k}`).toBe(true);
    }
    expect(m.persistence.skill_adj_close).toBe(0);
    expect(m.persistence.mae_return).toBeGreaterThan(0);
    // skill is exactly 1 - MAE/MAE_persistence on the same rows.
    expect(m.forecast.skill_adj_close).toBeCloseTo(1 - m.forecast.mae_adj_close / m.persistence.mae_adj_close, 12);
    expect(Number.isFinite(m.vol_ma_20.skill_volume)).toBe(true);
    expect(train.promotion).toMatchObject({ alias: 'forecast_champion', promoted: true });
    for (const f of ['model.json', 'metrics.json', 'training.log', 'card.md']) expect(existsSync(join(train.path, f)), f).toBe(true);
    const text = await readFile(join(train.path, 'model.json'), 'utf8');
    expect(forecastToJSON(forecastFromJSON(text, 'model.json'))).toBe(text);
    // The default protocol: the validation window chose the trees, both boosters refitted on every pre-test row with them.
    expect(train.protocol).toMatchObject({ name: 'cv', trees: train.best_iteration.volume, trees_adj_close: train.best_iteration.adj_close, rows_fit: train.rows_train + train.rows_valid });
    const model = forecastFromJSON(text, 'model.json');
    expect([model.adjClose.trees.length, model.volume.trees.length]).toEqual([train.best_iteration.adj_close, train.best_iteration.volume]);
    expect(JSON.parse(await readFile(join(train.path, 'metrics.json'), 'utf8')).protocol).toEqual(train.protocol);
    expect(await readFile(join(train.path, 'card.md'), 'utf8')).toContain(`- protocol: ${train.protocol.label}`);
    expect(await readFile(join(train.path, 'training.log'), 'utf8')).toMatch(/^# volume refit: gbdt on \d+ rows \(every pre-test row\)/m);
    const list = (await sp(ws, ['models', 'list'])).json.data as { id: string; kind: string; aliases: string[] }[];
    expect(list.find((x) => x.id === train.model_id)).toMatchObject({ kind: 'forecast', aliases: ['forecast_champion'] });
    expect(list.some((x) => x.aliases.includes('champion'))).toBe(false);
    // The human output shows a day-ahead model's own numbers (its volume skill), not empty volume-model columns.
    const skill = train.metrics.forecast.skill_volume as number;
    const human = await runCliAsync(['models', 'list', '-w', ws]);
    expect(human.stdout.split('\n')[0]).toContain('SKILL_VOLUME');
    expect(human.stdout.split('\n').find((l) => l.startsWith(train.model_id))).toContain(String(Number(skill.toPrecision(5))));
    const show = await runCliAsync(['models', 'show', train.model_id, '-w', ws]);
    // Aligned columns headed by the metrics' --json names, as the volume models' (card.md keeps a markdown table).
    const lines = show.stdout.split('\n');
    expect(lines.find((l) => l.startsWith('model '))).toMatch(/^model +mae_adj_close .* skill_volume +mae_volume_log +skill_volume_log$/);
    expect(lines.find((l) => l.startsWith('forecast (this model) '))).toContain(String(Number(skill.toPrecision(5))));
    expect(show.stdout).not.toContain('|');
  });

  it.sequential('evaluate re-scores the forecast model on its test slice: the same numbers as training, next to persistence', async () => {
    const e = await sp(ws, ['evaluate', train.model_id]);
    expect(e.code, e.stderr).toBe(0);
    expect(e.json.data).toMatchObject({ model_id: train.model_id, kind: 'forecast', test: train.test });
    for (const k of ['forecast', 'persistence', 'vol_ma_20']) expect(Object.keys(e.json.data.metrics)).toContain(k);
    // Byte for byte: only the test rows' inputs are computed, the same way as for training.
    expect(e.json.data.metrics).toEqual(train.metrics);
  });

  it.sequential('a second model on the same data is compared on mae_volume over the validation window, never the test slice (the early-stopped boosters\' score, refit or not); a plain features table is refused', async () => {
    const ws = await copyOfTrained();
    const plain = await tempWorkspace();
    // A plain (not --extended) features table, built meanwhile in another workspace over an extended one
    // (as the train pipeline does after the daily one): the build says it drops the lagged columns.
    const plainBuilt = (async () => {
      let stderr = '';
      for (const step of [['fetch', '--symbols', '5', '--years', '1'], ['ingest'], ['features', '--extended'], ['features']]) {
        const s = await sp(plain, step);
        expect(s.code, s.stderr).toBe(0);
        stderr = s.stderr;
      }
      expect(stderr).toMatch(/has the lagged day-ahead columns .*this build drops them.*features\.extended/);
    })();
    // The first model's settings under the holdout protocol: the same early-stopped boosters, not refitted.
    const r = await sp(ws, ['train', '--task', 'forecast', '--trees', '40', '--protocol', 'holdout', '--promote-if-better']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.protocol).toMatchObject({ name: 'holdout', rows_fit: r.json.data.rows_train, trees: train.best_iteration.volume });
    expect(r.json.data.metrics.forecast.mae_volume).not.toBe(train.metrics.forecast.mae_volume);
    const p = r.json.data.promotion;
    expect(p.candidate_value).toBe(p.champion_value);
    expect(p.metric).toBe('mae_volume');
    expect(p.same_test_slice).toBe(true);
    expect(p.compared).toMatch(/^mae_volume on the validation window \d{4}-\d\d-\d\d\.\.\d{4}-\d\d-\d\d$/);
    expect(p.holder_rescored).toBe(false);
    expect(p.candidate_value).not.toBe(r.json.data.metrics.forecast.mae_volume); // not the test score
    expect(p.compared.slice(-10) < r.json.data.split.test_from).toBe(true); // the window ends before the test slice
    expect(p.promoted).toBe(p.candidate_value < p.champion_value);
    // models promote defaults to the forecast metric for a forecast model.
    const notHolder = r.json.data.promotion.promoted ? train.model_id : r.json.data.model_id;
    const manual = await sp(ws, ['models', 'promote', notHolder, '--alias', 'forecast_champion', '--force']);
    expect(manual.code, manual.stderr).toBe(0);
    expect(manual.json.data).toMatchObject({ metric: 'mae_volume', same_test_slice: true });
    expect(Number.isFinite(manual.json.data.candidate_value)).toBe(true);
    await plainBuilt;
    const t = await sp(plain, ['train', '--task', 'forecast']);
    expect(t.code).toBe(1);
    expect(t.json.error!.code).toBe('SP_ERR_TRAIN_DATA');
    expect(t.json.error!.hint).toMatch(/features --extended.*features\.extended/);
    // --as-of that plain snapshot once the current one has the columns again: rebuilding (the hint above) would not change
    // what --as-of reads, so the hint says to drop or change --as-of (train, evaluate and tune read through this one loader).
    const reg = openRegistry(plain, { readonly: true });
    const plainId = currentSnapshot(reg, 'features')!.id;
    reg.close();
    expect((await sp(plain, ['features', '--extended'])).code).toBe(0);
    const asOf = await loadWorkspaceForecastData(new Workspace(plain), String(plainId)).then(() => null, (err: StockpipeError) => err);
    expect(asOf?.code).toBe('SP_ERR_TRAIN_DATA');
    expect(asOf!.message).toMatch(new RegExp(`lacks the day-ahead column.*\\(--as-of ${plainId} reads snapshot ${plainId}, built without --extended\\)$`));
    expect(asOf!.hint).toMatch(/^Drop --as-of: the current features snapshot, \d+, has the day-ahead columns/);
  });

  it.sequential('--test-days N tests on the last N trading days; a retrain by the same procedure on newer data takes the alias without re-scoring the holder', async () => {
    const w = await copyOfTrained();
    const [{ d: last }] = await sql(`SELECT max("Date")::VARCHAR AS d FROM ${viewSource(w, 'features')}`) as [{ d: string }];
    const days = tradingDays('2000-01-03', last);
    const older = await sp(w, ['train', '--task', 'forecast', '--trees', '40', '--test-days', '20', '--date', days.at(-11)!]);
    expect(older.code, older.stderr).toBe(0);
    expect(older.json.data.split.test_from).toBe(days.at(-30)); // 20 trading days up to --date
    // evaluate scores the test slice it was trained with: the rows up to its --date, not every later day the table holds.
    const evaluated = await sp(w, ['evaluate', older.json.data.model_id]);
    expect(evaluated.json.data, evaluated.stderr).toMatchObject({ test: older.json.data.test, split: { until: days.at(-11) } });
    expect(evaluated.json.data.metrics).toEqual(older.json.data.metrics);
    // Without --alias a day-ahead model is promoted to forecast_champion (it was refused: champion takes volume models), by the CLI and the API.
    const manual = await sp(w, ['models', 'promote', older.json.data.model_id, '--force']);
    expect(manual.json.data, manual.stderr).toMatchObject({ alias: 'forecast_champion', promoted: true });
    const holder = new ChampionHolder(w, silentLog);
    await holder.refresh();
    const { app } = await buildApp({ workspace: w, holder, accessLog: null, version: 'test' });
    try {
      const api = await app.inject({ method: 'POST', url: `/models/${older.json.data.model_id}/promote`, payload: {} });
      expect([api.statusCode, api.json().alias], api.body).toEqual([200, 'forecast_champion']);
    } finally {
      await app.close();
    }
    const r = await sp(w, ['train', '--task', 'forecast', '--trees', '40', '--test-days', '20', '--promote-if-better']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.split.test_from).toBe(days.at(-20));
    expect(r.json.data.promotion).toMatchObject({ outcome: 'promoted', holder_rescored: false, champion_value: null });
    expect(r.json.data.promotion.compared).toMatch(new RegExp(`^the same training procedure as ${older.json.data.model_id} \\([0-9a-f]{12}\\) on newer data`));
    // Another procedure on that data is compared on the backtest as before.
    const other = await sp(w, ['train', '--task', 'forecast', '--trees', '40', '--test-days', '20', '--learning-rate', '0.2', '--promote-if-better']);
    expect(other.json.data.promotion.compared).toMatch(/^mae_volume on the validation window/);
    // A study cut the same way: train --params-from keeps its cut.
    const study = await sp(w, ['tune', '--task', 'forecast', '--trials', '1', '--max-trees', '10', '--test-days', '20', '--name', 'recent']);
    expect(study.code, study.stderr).toBe(0);
    const tuned = await sp(w, ['train', '--task', 'forecast', '--params-from', 'recent']);
    expect(tuned.code, tuned.stderr).toBe(0);
    expect(tuned.json.data.split.test_from).toBe(days.at(-20));
    expect((await sp(w, ['tune', '--task', 'forecast', '--test-days', '20', '--resume', 'recent'])).json.error?.code).toBe('SP_ERR_USAGE');
    const tooMany = await sp(w, ['train', '--task', 'forecast', '--test-days', String(days.length)]);
    expect([tooMany.code, tooMany.json.error?.code]).toEqual([1, 'SP_ERR_TRAIN_DATA']);
    expect(tooMany.json.error?.message).toMatch(/no row would be left to fit/);
    for (const bad of [['--test-days', '0'], ['--test-days', '20', '--test-from', days.at(-20)!], ['--boost-from', 'mean'], ['--target', 'raw']]) {
      const b = await sp(w, ['train', '--task', 'forecast', ...bad]);
      expect([b.code, b.json.error?.code], bad.join(' ')).toEqual([2, 'SP_ERR_USAGE']);
    }
    // Features built with another window are another input (vol_moving_avg): not the holder's procedure, compared.
    expect((await sp(w, ['models', 'promote', older.json.data.model_id, '--alias', 'forecast_champion', '--force'])).code).toBe(0);
    expect((await sp(w, ['features', '--extended', '--window', '10'])).code).toBe(0);
    // forecast says so too (it was silent): the champion's inputs from vol_moving_avg mean a 10-row mean where it learned a 30-row one.
    const rewindowedForecast = await sp(w, ['forecast']);
    expect(rewindowedForecast.json.data, rewindowedForecast.stderr).toMatchObject({ model_id: older.json.data.model_id, window: { read: 10, trained_on: 30, same: false } });
    const rewindowed = await sp(w, ['train', '--task', 'forecast', '--trees', '40', '--test-days', '20', '--promote-if-better']);
    expect(rewindowed.code, rewindowed.stderr).toBe(0);
    expect(rewindowed.json.data.promotion.compared).not.toMatch(/same training procedure/);
    expect(rewindowed.json.data.promotion.holder_rescored).toBe(true);
    // The holder reads its inputs with another meaning on these features: the comparison says so.
    expect(rewindowed.json.data.promotion.compared).toContain(`${older.json.data.model_id} was trained on features of --window 30, these are of --window 10`);
  });

  // Probed after issue 16: these were SP_ERR_INTERNAL ("Invalid typed array length", "input block cuts must ascend").
  it.sequential('no row up to --date, or an empty test slice, is SP_ERR_TRAIN_DATA for train and tune, nothing registered', async () => {
    const w = await copyOfTrained();
    const models = async (): Promise<number> => ((await sp(w, ['models', 'list'])).json.data as unknown[]).length;
    const before = await models();
    const cases: [string[], RegExp][] = [
      [['train', '--task', 'forecast', '--date', '2010-01-15'], /up to 2010-01-15 has no row with complete lagged columns/],
      [['train', '--task', 'forecast', '--test-from', '2030-01-02'], /the test slice is empty/],
      [['tune', '--task', 'forecast', '--trials', '1', '--test-from', '2030-01-02'], /the test slice is empty/],
      [['train', '--task', 'forecast', '--test-from', '2000-01-03'], /no training rows before the test slice/],
    ];
    for (const [args, message] of cases) {
      const r = await sp(w, args);
      expect([r.code, r.json.error?.code], `${args.join(' ')}: ${r.stderr.slice(-300)}`).toEqual([1, 'SP_ERR_TRAIN_DATA']);
      expect(r.json.error?.message, args.join(' ')).toMatch(message);
    }
    expect(await models()).toBe(before);
  });
});

describe.concurrent('stockpipe tune --task forecast', { timeout: 180_000 }, () => {
  it.sequential('tunes the volume booster on the validation window; train --task forecast --params-from reproduces the chosen score; a volume study is refused', async () => {
    const ws = await copyOfTrained();
    // Independent of the study: started now, checked below.
    const refusedTune = sp(ws, ['tune', '--task', 'forecast', '--folds', '3']);
    // As tune: --folds would be ignored by the day-ahead model (one fold, its validation window), so it is refused.
    const refusedTrain = sp(ws, ['train', '--task', 'forecast', '--folds', '0']);
    const huber = sp(ws, ['train', '--task', 'forecast', '--objective', 'huber', '--huber-delta', '0.1', '--trees', '20', '--threads', '1']);
    const poisson = sp(ws, ['train', '--task', 'forecast', '--objective', 'poisson']);
    const t = await sp(ws, ['tune', '--task', 'forecast', '--trials', '3', '--max-trees', '30', '--name', 'fc', '--threads', '1']);
    expect(t.code, t.stderr).toBe(0);
    const d = t.json.data;
    expect(d).toMatchObject({ task: 'forecast', metric: 'volume_mae_ratio', folds: 1, state: 'complete' });
    expect(d.settings.data.test_from).toBe(train.split.test_from);
    // Three readers of the finished study, side by side.
    const [again, r, mismatch] = await Promise.all([
      sp(ws, ['tune', '--resume', 'fc', '--threads', '1']),
      sp(ws, ['train', '--task', 'forecast', '--params-from', 'fc', '--threads', '1']),
      sp(ws, ['train', '--params-from', 'fc']),
    ]);
    // --resume takes the task from the study: a complete study runs nothing again.
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.data).toMatchObject({ task: 'forecast', evaluated: 0, reused: d.evaluated, best: { number: d.best.number, score: d.best.score } });
    expect(r.code, r.stderr).toBe(0);
    const m = r.json.data;
    expect(m.study).toMatchObject({ study_id: d.study_id, trial: d.best.number, same_data: true });
    expect(m.best_iteration.volume).toBe(d.best.best_iteration);
    // The validation window's volume skill is 1 − the study's score: it scored what train trains.
    const card = readFileSync(join(m.path, 'card.md'), 'utf8');
    expect(card).toContain(d.study_id);
    const metrics = JSON.parse(readFileSync(join(m.path, 'metrics.json'), 'utf8'));
    expect(1 - metrics.valid.skill_volume).toBeCloseTo(d.best.score, 10);
    const cmp = await sp(ws, ['models', 'compare', m.model_id, train.model_id]);
    expect(cmp.json.data.study.a).toMatchObject({ study_id: d.study_id, metric: 'volume_mae_ratio', task: 'forecast' });
    expect(mismatch.json.error?.code).toBe('SP_ERR_STUDY_MISMATCH');
    // --folds is no forecast option: --resume says so as a new study does (it said "created with --folds 1").
    const folds = await sp(ws, ['tune', '--resume', d.study_id, '--folds', '3']);
    expect([folds.code, folds.json.error?.code, folds.json.error?.message]).toEqual([2, 'SP_ERR_USAGE', expect.stringContaining('--folds is for the volume task')]);
    // What the study sets is refused beside it, named (it was ignored).
    const ignored = await sp(ws, ['train', '--task', 'forecast', '--params-from', 'fc', '--huber-delta', '0.5', '--learning-rate', '0.2']);
    expect([ignored.code, ignored.json.error?.code]).toEqual([2, 'SP_ERR_USAGE']);
    expect(ignored.json.error?.message).toContain('--learning-rate, --huber-delta would be ignored');
    // A --date before the study's test cut leaves no test row: said so, not sent to --test-from (which --params-from refuses).
    const cut = d.settings.data.test_from as string;
    const before = tradingDays('2000-01-03', cut).filter((x) => x < cut).at(-1)!;
    const early = await sp(ws, ['train', '--task', 'forecast', '--params-from', 'fc', '--date', before]);
    expect([early.code, early.json.error?.code, early.json.error?.message]).toEqual([1, 'SP_ERR_TRAIN_DATA', `--date ${before} is before the test cut of study ${d.study_id} (${cut}): no row would be left to test on`]);
    expect(early.json.error?.hint).not.toContain('--test-from');
    expect((await refusedTune).json.error?.code).toBe('SP_ERR_USAGE');
    const rt = await refusedTrain;
    expect([rt.code, rt.json.error?.code]).toEqual([2, 'SP_ERR_USAGE']);
    expect(rt.json.error?.message).toMatch(/^--folds is for the volume task/);
    // --objective huber is the volume booster's (the Adj Close booster stays l2); poisson is refused there.
    const h = await huber;
    expect(h.code, h.stderr).toBe(0);
    const hm = JSON.parse(readFileSync(join(h.json.data.path, 'model.json'), 'utf8'));
    // An explicit --objective huber is the default loss: its learning rate too (it was l2's 0.1, and δ 1 without --huber-delta).
    expect(hm.volume.model.params).toMatchObject({ objective: 'huber', huber_delta: 0.1, learning_rate: 0.3 });
    expect(hm.adj_close.model.params.objective).toBe('l2');
    expect(Number.isFinite(h.json.data.skill.volume)).toBe(true);
    expect((await poisson).json.error?.code).toBe('SP_ERR_USAGE');
  }, 180_000);
});

describe.concurrent('stockpipe forecast and GET /forecast/:symbol', { timeout: 180_000 }, () => {
  it.sequential('writes one row per symbol for the next NYSE trading day after its last bar', async () => {
    const r = await sp(ws, ['forecast']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json.data;
    const reg = openRegistry(ws, { readonly: true });
    const champion = reg.aliasTarget('forecast_champion');
    const last = await sql(`SELECT "Symbol" AS s, max("Date") AS d, arg_max("Adj Close", "Date") AS a FROM ${viewSource(ws, 'features')} GROUP BY 1 ORDER BY 1`);
    try {
      expect(d).toMatchObject({ model_id: champion, symbols: last.length, rows_out: last.length, window: { read: 30, trained_on: 30, same: true } });
      for (const k of ['asof_date_max', 'target_dates', 'seconds']) expect(d).toHaveProperty(k);
      for (const row of last) {
        const f = latestForecast(reg, String(row.s))!;
        expect(f, String(row.s)).not.toBeNull();
        expect(f.asof_date).toBe(row.d);
        expect(f.target_date).toBe(nextTradingDay(String(row.d)));
        expect(f.last_adj_close).toBe(row.a);
        expect(Number.isFinite(f.adj_close) && Number.isFinite(f.volume)).toBe(true);
        expect(f.volume!).toBeGreaterThanOrEqual(0);
        expect(forecastsFor(reg, String(row.s), { from: f.target_date, to: f.target_date }).length).toBe(1);
      }
      expect(forecastsDue(reg, d.target_dates[0]).length).toBeGreaterThan(0);
      expect(forecastsDue(reg, '1999-01-01').length).toBe(0);
    } finally {
      reg.close();
    }
    // Running again replaces (same model, symbol, target day): still one row per symbol.
    expect((await sp(ws, ['forecast'])).code).toBe(0);
    const n = await sqliteCount(ws);
    expect(n).toBe(last.length);
  });

  it.sequential('serves the latest forecast (200), history, 404 SP_ERR_FORECAST_NOT_FOUND, 405 and 400 as JSON errors', async () => {
    const f = await sp(ws, ['forecast']); // replaces the same rows if another test wrote them already
    expect(f.code, f.stderr).toBe(0);
    const holder = new ChampionHolder(ws, silentLog);
    await holder.refresh();
    const { app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test' });
    try {
      const reg = openRegistry(ws, { readonly: true });
      const sym = reg.all<{ symbol: string }>('t', 'SELECT symbol FROM forecasts ORDER BY symbol LIMIT 1')[0]!.symbol;
      const want = latestForecast(reg, sym)!;
      reg.close();
      const r = await app.inject(`/forecast/${encodeURIComponent(sym)}`);
      expect(r.statusCode).toBe(200);
      const body = JSON.parse(r.body) as Record<string, unknown>;
      expect(body).toEqual({ symbol: sym, model_id: want.model_id, asof_date: want.asof_date, target_date: want.target_date, adj_close: want.adj_close, volume: want.volume, last_adj_close: want.last_adj_close, last_volume: want.last_volume, created_at: want.created_at });
      const h = await app.inject(`/forecast/${encodeURIComponent(sym)}?history=5`);
      expect(h.statusCode).toBe(200);
      expect((JSON.parse(h.body) as { history: unknown[] }).history.length).toBeGreaterThanOrEqual(1);
      const missing = await app.inject('/forecast/NOPE-NOT-A-SYMBOL');
      expect(missing.statusCode).toBe(404);
      expect((JSON.parse(missing.body) as { error: { code: string } }).error.code).toBe('SP_ERR_FORECAST_NOT_FOUND');
      const post = await app.inject({ method: 'POST', url: `/forecast/${sym}` });
      expect(post.statusCode).toBe(405);
      expect((JSON.parse(post.body) as { error: { code: string } }).error.code).toBe('SP_ERR_METHOD_NOT_ALLOWED');
      const bad = await app.inject(`/forecast/${sym}?history=abc`);
      expect(bad.statusCode).toBe(400);
      expect((JSON.parse(bad.body) as { error: { code: string } }).error.code).toBe('SP_ERR_BAD_REQUEST');
      const doc = JSON.parse((await app.inject('/openapi.json')).body) as { paths: Record<string, unknown> };
      expect(Object.keys(doc.paths)).toContain('/forecast/{symbol}');
    } finally {
      await app.close();
    }
  });

  it.sequential('stockpipe forecast computes every input of a last bar exactly as training computed it for that row (market means included)', async () => {
    const w = new Workspace(ws);
    const t = featuresRead(w);
    const db = await openDuckDB(w.duckdbSettings());
    try {
      const frame = await loadForecastFrame(db.connection, sourceOf(t), 'features', undefined, KNOWN_INPUTS);
      // A day well inside the data: each symbol's row dated D is a training row of the full frame, and its last bar when bounded by D.
      const days = [...new Set(frame.set.targetDay)];
      const d = days[Math.floor(days.length * 0.6)]!;
      const until = new Date(d * 86_400_000).toISOString().slice(0, 10);
      const last = await loadLastRows(db.connection, sourceOf(t), 'features', until, KNOWN_INPUTS);
      const at = new Map<number, number>();
      frame.set.row.forEach((i, k) => at.set(i, k));
      let compared = 0;
      for (let s = 0; s + 1 < frame.symbolStart.length; s++) {
        // The symbol's row dated `until` (its last bar by then), when it is a training row.
        let i = frame.symbolStart[s + 1]! - 1;
        while (i >= frame.symbolStart[s]! && frame.day[i]! > d) i--;
        const k = at.get(i);
        if (k === undefined || frame.day[i] !== d) continue;
        const j = last.day.findIndex((e, q) => e === d && last.adjClose[q] === frame.adjClose[i] && last.volume[q] === frame.volume[i]);
        expect(j, `row ${i}: no last bar dated ${until} with its Adj Close and Volume`).toBeGreaterThanOrEqual(0);
        KNOWN_INPUTS.forEach((name, f) => expect(Object.is(last.x[f]![j], inputColumn(frame, f, k, k + 1)[0]), `${name} of row ${i}`).toBe(true));
        compared++;
      }
      expect(compared).toBeGreaterThan(10);
    } finally {
      db.close();
    }
  });

  it.sequential('a features table built before quarter_echo (an older stockpipe\'s) serves a model without that input, as the full table does; one with it is refused', async () => {
    const w = new Workspace(ws);
    const t = featuresRead(w);
    const old = join(await tempWorkspace('forecast-v1'), 'features-v1.parquet');
    const db = await openDuckDB(w.duckdbSettings());
    try {
      await db.connection.run(`COPY (SELECT * EXCLUDE (quarter_echo) FROM ${sourceOf(t)}) TO '${old}' (FORMAT parquet)`);
      // A model trained before the inputs marked ² in docs/model-format.md names the first fourteen.
      const inputs = FORECAST_FEATURES.slice(0, 14);
      expect(inputs).not.toContain('quarter_echo');
      const [lastOld, lastNew] = [await loadLastRows(db.connection, old, 'old', undefined, inputs), await loadLastRows(db.connection, sourceOf(t), 'features', undefined, inputs)];
      expect(lastOld.symbols).toEqual(lastNew.symbols);
      inputs.forEach((name, f) => expect(Array.from(lastOld.x[f]!), name).toEqual(Array.from(lastNew.x[f]!)));
      const [frameOld, frameNew] = [await loadForecastFrame(db.connection, old, 'old', undefined, inputs), await loadForecastFrame(db.connection, sourceOf(t), 'features', undefined, inputs)];
      expect(frameHash(frameOld)).toBe(frameHash(frameNew));
      // Every default input, quarter_echo among them (training does): refused with the rebuild as the hint.
      const refused = await loadForecastFrame(db.connection, old, 'old').then(() => null, (err: unknown) => err as StockpipeError);
      expect(refused?.code).toBe('SP_ERR_TRAIN_DATA');
      expect(refused?.message).toBe('old lacks the day-ahead column(s) quarter_echo');
      expect(refused?.hint).toMatch(/^Rebuild it with `stockpipe features --extended`/);
    } finally {
      db.close();
    }
  });

  it.sequential('forecast with a volume model or no forecast model fails with a code', async () => {
    const empty = await tempWorkspace();
    const ws = await copyOfTrained();
    const [r, vol] = await Promise.all([sp(empty, ['forecast']), sp(ws, ['train', '--kind', 'naive'])]);
    expect(r.code).toBe(1);
    expect(r.json.error!.code).toBe('SP_ERR_MODEL_NOT_FOUND');
    expect(vol.code, vol.stderr).toBe(0);
    const w = await sp(ws, ['forecast', '--model', vol.json.data.model_id]);
    expect(w.code).toBe(2);
    expect(w.json.error!.code).toBe('SP_ERR_USAGE');
  });
});

describe.concurrent('train --task forecast: inputs binned while loading', { timeout: 180_000 }, () => {
  it.sequential('the training rows binned group by group as they are read give the same frame hash, model and metrics as inputs held whole', async () => {
    const w = new Workspace(ws);
    const t = featuresRead(w);
    const db = await openDuckDB(w.duckdbSettings());
    const params = { seed: 3, threads: 1, trees: 30, maxDepth: 6, numLeaves: 64, learningRate: 0.1, minDataInLeaf: 20, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 5 };
    try {
      const whole = await loadForecastFrame(db.connection, sourceOf(t), 'features');
      // 2 inputs a pass: 11 reads of the sorted rows.
      const stream = streamedTrainBins(undefined, params, FORECAST_FEATURES, 2);
      const streamed = await loadForecastFrame(db.connection, sourceOf(t), 'features', undefined, FORECAST_FEATURES, stream.cuts, stream.sink);
      const bins = stream.bins();
      expect(bins).not.toBeNull();
      const train = streamed.set.blocks[0]!;
      expect(bins!.train.rows).toBe(train.hi);
      // Only log_volume of the training rows is kept; the validation and test rows keep every input.
      expect(train.x.map((c, f) => (c === null ? '' : FORECAST_FEATURES[f]))).toEqual(FORECAST_FEATURES.map((n) => (n === 'log_volume' ? n : '')));
      expect(streamed.set.blocks.slice(1).every((b) => b.x.every((c) => c !== null))).toBe(true);
      expect(streamed.hash).toBe(frameHash(whole));
      const a = await trainForecastModel(whole, params, { progress: silentProgress });
      const b = await trainForecastModel(streamed, params, { progress: silentProgress }, bins);
      expect(forecastToJSON(b.model)).toBe(forecastToJSON(a.model));
      expect(b.metrics).toEqual(a.metrics);
      expect(b.valid_metrics).toEqual(a.valid_metrics);
    } finally {
      db.close();
    }
  });

  it.sequential('evaluate\'s load computes the test rows\' inputs only, of the model\'s own inputs: the same scores as a frame held whole', async () => {
    const w = new Workspace(ws);
    const t = featuresRead(w);
    const db = await openDuckDB(w.duckdbSettings());
    const params = { seed: 5, threads: 1, trees: 20, maxDepth: 4, numLeaves: 16, learningRate: 0.1, minDataInLeaf: 20, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 5, protocol: 'holdout' as const };
    try {
      // A model of other inputs than the default (a subset, and one input the default leaves out).
      const names = [...FORECAST_FEATURES.filter((n) => n !== 'oc_ret' && n !== 'day_of_year'), 'opex'];
      const whole = await loadForecastFrame(db.connection, sourceOf(t), 'features', undefined, names);
      const { model } = await trainForecastModel(whole, params, { progress: silentProgress });
      expect(model.featureNames).toEqual(names);
      const skipped = await loadForecastFrame(db.connection, sourceOf(t), 'features', undefined, model.featureNames, forecastTestCut(undefined), 'skip');
      const [pre, test] = skipped.set.blocks;
      expect(skipped.set.blocks).toHaveLength(2);
      expect(pre!.x.every((c) => c === null)).toBe(true);
      expect(test!.hi - test!.lo).toBeGreaterThan(0);
      names.forEach((n, k) => expect(test!.x[k], n).toEqual(inputColumn(whole, k, test!.lo, test!.hi)));
      expect(scoreForecastOnTestSlice(model, skipped, null)).toEqual(scoreForecastOnTestSlice(model, whole, null));
      // A pre-test row is never read: asking for one fails loudly instead of scoring zeros.
      expect(() => inputColumn(skipped, 0, 0, 1)).toThrow(/rows 0\.\.0 were asked for/);
    } finally {
      db.close();
    }
  });
});

async function sqliteCount(workspace: string): Promise<number> {
  const reg = openRegistry(workspace, { readonly: true });
  try {
    return reg.get<{ n: number }>('t', 'SELECT count(*) AS n FROM forecasts')!.n;
  } finally {
    reg.close();
  }
}
