/** train / evaluate / models through the CLI on a small synthetic workspace (docs/models.md, docs/cli.md).
 * beforeAll builds one featured workspace with no models; each test trains in its own copy, so
 * any test runs alone (`-t`) or in any order. */
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { conformalFromJSON } from '../src/ml/conformal.js';
import { scorerFromJSON } from '../src/ml/volume-model.js';
import { openRegistry } from '../src/registry/store.js';
import { cliPool } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';

/** The CLI without blocking: the tests (each in its own copy) run side by side, three children at most. */
const cli = cliPool(3);
const sp = (ws: string, args: string[]) => cli([...args, '-w', ws, '--json']);

let base = '';
beforeAll(async () => {
  base = await tempWorkspace('train-base');
  for (const step of [['fetch', '--symbols', '40', '--years', '4'], ['ingest'], ['features']]) {
    const r = await sp(base, step);
    expect(r.code, r.stderr).toBe(0);
  }
}, 120_000);

/** A private copy of the featured base workspace (no models yet). */
async function featured(): Promise<string> {
  const ws = await tempWorkspace('train');
  await cp(base, ws, { recursive: true });
  return ws;
}

// Each test trains in its own workspace: they run side by side, and wait for the pool's children too
// (the timeouts only bound a hang).
describe.concurrent('stockpipe train / evaluate / models', { timeout: 240_000 }, () => {
  it('trains a gbdt with the documented train --json fields (docs/cli.md), writes the four artifacts, registers and promotes it', async () => {
    const ws = await featured();
    const r = await sp(ws, ['train', '--trees', '30', '--promote-if-better']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json.data;
    for (const k of ['model_id', 'kind', 'rows_train', 'rows_valid', 'rows_test', 'seconds', 'metrics']) expect(d, k).toHaveProperty(k);
    expect(d.kind).toBe('gbdt');
    expect(d.split.kind).toBe('time');
    for (const kind of ['gbdt', 'polyreg', 'naive']) for (const m of ['mae', 'rmse', 'r2', 'mae_log', 'rmse_log', 'r2_log']) expect(Number.isFinite(d.metrics[kind][m]), `${kind}.${m}`).toBe(true);
    for (const f of ['model.json', 'metrics.json', 'training.log', 'card.md']) expect(existsSync(join(d.path, f)), f).toBe(true);
    const log = (await readFile(join(d.path, 'training.log'), 'utf8')).trim().split('\n').filter((l) => /^\d/.test(l));
    expect(log.length).toBeGreaterThan(1);
    const losses = log.map((l) => Number(l.split(' ')[1]));
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    expect(d.promotion.promoted).toBe(true);
    const list = await sp(ws, ['models', 'list']);
    expect(list.json.data).toHaveLength(1);
    expect(list.json.data[0]).toMatchObject({ id: d.model_id, kind: 'gbdt', aliases: ['champion'] });
    for (const k of ['id', 'kind', 'created_at', 'aliases', 'metrics']) expect(list.json.data[0]).toHaveProperty(k);
  });

  it('--monotone-vma: model.json names monotone_constraints "1,0", and the served volume never falls as vol_moving_avg rises (the free model\'s does)', async () => {
    const ws = await featured();
    const held = await sp(ws, ['train', '--trees', '30', '--monotone-vma']);
    expect(held.code, held.stderr).toBe(0);
    const free = await sp(ws, ['train', '--trees', '30']);
    expect(free.code, free.stderr).toBe(0);
    // The largest fall of the served volume along a grid of vol_moving_avg, adj_close_rolling_med fixed.
    const worstFall = async (dir: string): Promise<number> => {
      const text = await readFile(join(dir, 'model.json'), 'utf8');
      const scorer = scorerFromJSON(text, dir);
      let worst = 0;
      for (const acm of [5, 20, 60, 200]) {
        let prev = -Infinity;
        for (let k = 0; k <= 400; k++) {
          const v = scorer.predict(10 ** (2 + (k / 400) * 6), acm);
          worst = Math.max(worst, prev - v);
          prev = v;
        }
      }
      return worst;
    };
    expect(JSON.parse(await readFile(join(held.json.data.path, 'model.json'), 'utf8')).params.monotone_constraints).toBe('1,0');
    expect(await worstFall(held.json.data.path)).toBe(0);
    expect(await worstFall(free.json.data.path)).toBeGreaterThan(0);
    const refused = await sp(ws, ['train', '--task', 'forecast', '--monotone-vma']);
    expect(refused.code).toBe(2);
    expect(refused.json.error?.message).toContain('--monotone-vma');
  });

  it('cv protocol by default: folds in the pre-test dates choose the trees, the refit has that many, the test slice is reported once; holdout on request', async () => {
    const ws = await featured();
    const r = await sp(ws, ['train', '--trees', '40', '--folds', '3']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json.data;
    expect(d.protocol.name).toBe('cv');
    expect(d.protocol.folds).toHaveLength(3);
    let prev = '';
    for (const f of d.protocol.folds) {
      expect(f.valid_from > prev).toBe(true);
      expect(f.valid_to < d.split.test_from).toBe(true);
      expect(f.train_from < f.valid_from).toBe(true);
      prev = f.valid_to;
    }
    const mean = d.protocol.folds.reduce((a: number, f: { best_score: number }) => a + f.best_score, 0) / 3;
    expect(d.cv_rmse_log).toBeCloseTo(mean, 12);
    const model = JSON.parse(await readFile(join(d.path, 'model.json'), 'utf8'));
    expect(model.trees).toHaveLength(d.protocol.trees);
    expect(d.rows_train).toBe(d.protocol.folds[2].rows_train + d.protocol.folds[2].rows_valid); // refit on all pre-test rows
    expect(d.selection).toMatchObject({ kind: 'cv', metrics: { rmse_log: d.cv_rmse_log } });
    const metrics = JSON.parse(await readFile(join(d.path, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ protocol: { name: 'cv', trees: d.protocol.trees }, cv_rmse_log: d.cv_rmse_log });
    const card = await readFile(join(d.path, 'card.md'), 'utf8');
    expect(card).toContain('## Evaluation protocol');
    expect(card).toMatch(/promotion compares: rmse_log .* CV folds' validation rows .*never the test slice/);
    // Under cv there is no validation slice: the card says what the model was fitted on (it said "validation 0").
    expect(card).toContain(`- split: time; fitted on ${d.rows_train} pre-test rows (the CV folds below validate inside them), test ${d.rows_test}`);
    expect(card).not.toContain('validation 0');
    const h = await sp(ws, ['train', '--trees', '40', '--protocol', 'holdout']);
    expect(h.code, h.stderr).toBe(0);
    expect(h.json.data.protocol).toMatchObject({ name: 'holdout', cv_rmse_log: null, folds: [] });
    expect(h.json.data.selection).toMatchObject({ kind: 'validation' });
    expect((await sp(ws, ['train', '--trees', '5', '--folds', '0'])).json.data.protocol.name).toBe('holdout');
    expect((await sp(ws, ['train', '--folds', '12'])).code).toBe(2);
  });

  it('--folds beside the other --protocol is SP_ERR_USAGE (--protocol cv --folds 0, --protocol holdout --folds 5), not one of them silently ignored', async () => {
    const ws = await tempWorkspace();
    for (const args of [['--protocol', 'cv', '--folds', '0'], ['--protocol', 'holdout', '--folds', '5']]) {
      const r = await sp(ws, ['train', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.json.error!.code).toBe('SP_ERR_USAGE');
      expect(r.json.error!.message).toContain(`--folds ${args[3]}`);
    }
  });

  it('writes intervals.json calibrated on the cv folds\' out-of-fold residuals; metrics.json, the card and --json report the test coverage at 80/90/95%', async () => {
    const ws = await featured();
    const r = await sp(ws, ['train', '--trees', '30']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json.data;
    const cal = conformalFromJSON(await readFile(join(d.path, 'intervals.json'), 'utf8'), 'intervals.json');
    expect(cal.source).toBe('cv out-of-fold');
    expect(cal.n).toBe(d.protocol.folds.reduce((a: number, f: { rows_valid: number }) => a + f.rows_valid, 0));
    const metrics = JSON.parse(await readFile(join(d.path, 'metrics.json'), 'utf8')) as { intervals: { n: number; coverage: { coverage: number; covered: number; rows: number; q_log: number }[] } };
    expect(metrics.intervals.coverage.map((c) => c.coverage)).toEqual([0.8, 0.9, 0.95]);
    expect(d.intervals).toEqual(metrics.intervals);
    for (const c of metrics.intervals.coverage) {
      expect(c.rows).toBe(d.rows_test);
      // Time-ordered slices are not exchangeable, so this is looser than the ±2 points on exchangeable data (src/ml/conformal.test.ts).
      expect(Math.abs(c.covered - c.coverage), String(c.coverage)).toBeLessThan(0.05);
    }
    expect(await readFile(join(d.path, 'card.md'), 'utf8')).toMatch(/## Prediction intervals \(split-conformal\)[\s\S]*\| 90\.0% \| \d+\.\d% \|/);
    const reg = openRegistry(ws);
    try {
      const run = reg.getRun(reg.getModel(d.model_id).run_id!)!;
      expect(run.artifacts.map((a) => a.kind).sort()).toEqual(['card', 'intervals', 'metrics', 'model', 'training']);
    } finally {
      reg.close();
    }
  });

  it('is deterministic: the same data, seed and threads give a byte-identical model.json', async () => {
    const ws = await featured();
    const a = await sp(ws, ['train', '--trees', '15', '--seed', '7', '--bagging-fraction', '0.8']);
    const b = await sp(ws, ['train', '--trees', '15', '--seed', '7', '--bagging-fraction', '0.8']);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(b.json.data.model_id).not.toBe(a.json.data.model_id);
    const ja = await readFile(join(a.json.data.path, 'model.json'), 'utf8');
    const jb = await readFile(join(b.json.data.path, 'model.json'), 'utf8');
    expect(ja).toBe(jb);
  });

  it('evaluate reports the model next to every baseline on the same time slice, with slices', async () => {
    const ws = await featured();
    const first = await sp(ws, ['train', '--trees', '10']); // the first model: the champion evaluate reports on
    expect(first.code, first.stderr).toBe(0);
    expect((await sp(ws, ['train', '--kind', 'rf', '--trees', '10'])).code).toBe(0);
    const r = await sp(ws, ['evaluate']);
    expect(r.code, r.stderr).toBe(0);
    const d = r.json.data;
    expect(Object.keys(d.metrics).sort()).toEqual(['gbdt', 'naive', 'polyreg', 'rf']);
    // The same scores as training's, baselines included: evaluate fits polyreg on the rows the cv protocol trained on (every pre-test row).
    for (const k of ['gbdt', 'polyreg', 'naive']) expect(d.metrics[k], k).toEqual(first.json.data.metrics[k]);
    expect(d.test.rows).toBeGreaterThan(0);
    expect(d.test.date_min <= d.test.date_max).toBe(true);
    expect(Object.keys(d.slices.by_asset).sort()).toEqual(['etf', 'stock']);
    expect(d.slices.by_volume_decile.length).toBe(10);
  });

  it('the human output gives units and says plainly which baseline beats the model, as its stored metrics do', async () => {
    const ws = await featured();
    const r = await cli(['train', '--trees', '5', '-w', ws]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(MAE, RMSE: shares of daily volume; the _log columns: log1p(shares))');
    const id = /trained (\S+) \(gbdt\)/.exec(r.stdout)?.[1];
    const m = (await sp(ws, ['models', 'show', String(id)])).json.data.metrics as Record<string, { rmse: number; rmse_log: number }>;
    const notes = r.stdout.split('\n').filter((l) => l.startsWith('  note: '));
    const expected: string[] = [];
    for (const [metric, where] of [['rmse_log', 'on the log scale'], ['rmse', 'on raw volume']] as const) {
      const better = Object.keys(m).filter((k) => k !== 'gbdt' && m[k]![metric] < m.gbdt![metric]);
      if (better.length > 0) expected.push(`${better.join(' and ')} ${better.length > 1 ? 'beat' : 'beats'} gbdt ${where}`);
    }
    expect(notes.map((l) => /^ {2}note: (.*?) \(/.exec(l)?.[1])).toEqual(expected);
  });

  it('the random split is labelled leaky', async () => {
    const r = await sp(await featured(), ['train', '--kind', 'polyreg', '--split', 'random']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.data.split).toMatchObject({ kind: 'random', leaky: true });
  });

  it('models promote re-scores the champion on the other slice: a worse model is refused unless forced; models at answers from history', async () => {
    const ws = await featured();
    const champion = await sp(ws, ['train', '--trees', '30', '--promote-if-better']);
    expect(champion.json.data.promotion.promoted).toBe(true);
    const other = await sp(ws, ['train', '--kind', 'naive', '--test-from', '2012-06-01']);
    expect(other.code).toBe(0);
    const refused = await sp(ws, ['models', 'promote', other.json.data.model_id]);
    expect(refused.code).toBe(1);
    expect(refused.json.error!.code).toBe('SP_ERR_PROMOTE_REFUSED');
    // The hint does not send the user to the test slice: promotion never reads it.
    expect(refused.json.error!.hint).toMatch(/--force/);
    expect(refused.json.error!.hint).not.toMatch(/test slice/);
    // In a terminal: one line saying it was forced and why (the reason was printed a second time under it).
    const forced = await cli(['models', 'promote', other.json.data.model_id, '--force', '-w', ws]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/^promoted to champion \(forced\): not better: /);
    expect(forced.stdout.trim().split('\n')).toHaveLength(1);
    // The holder promoted again: one line, "already holds it", said once.
    const again = await cli(['models', 'promote', other.json.data.model_id, '-w', ws]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual([`champion unchanged: ${other.json.data.model_id} already holds it`]);
    expect((await sp(ws, ['models', 'at', new Date(Date.now() - 86_400_000).toISOString()])).json.data.model_id).toBeNull(); // before any model
    const at = await sp(ws, ['models', 'at', new Date().toISOString()]);
    expect(at.json.data.model_id).toBe(other.json.data.model_id);
  });

  it('bad input: no features, a window larger than every series → SP_ERR_TRAIN_DATA, nothing registered', async () => {
    const empty = await tempWorkspace();
    const r = await sp(empty, ['train']);
    expect(r.code).toBe(1);
    expect(r.json.error!.code).toBe('SP_ERR_TRAIN_DATA');
    expect(existsSync(join(empty, 'models'))).toBe(false);
    const w2 = await tempWorkspace();
    for (const step of [['fetch', '--symbols', '12', '--years', '1'], ['ingest'], ['features', '--window', '1000']]) expect((await sp(w2, step)).code).toBe(0);
    const t = await sp(w2, ['train']);
    expect(t.code).toBe(1);
    expect(t.json.error!.code).toBe('SP_ERR_TRAIN_DATA');
    expect((await sp(w2, ['models', 'list'])).json.data).toEqual([]);
  });

  it('a corrupt model file gives SP_ERR_MODEL_FORMAT with the path', async () => {
    const ws = await featured();
    const id = (await sp(ws, ['train', '--trees', '10'])).json.data.model_id as string;
    const show = await sp(ws, ['models', 'show', id]);
    await writeFile(join(show.json.data.path, 'model.json'), '{"format":"stockpipe-trees","format_version":99}');
    const r = await sp(ws, ['evaluate', id]);
    expect(r.code).toBe(1);
    expect(r.json.error!.code).toBe('SP_ERR_MODEL_FORMAT');
    expect(r.json.error!.message).toContain(show.json.data.path);
  });

  it('evaluate names a missing or broken metrics.json, or another model\'s model.json that is a folder, instead of SP_ERR_INTERNAL', async () => {
    const ws = await featured();
    const gbdt = (await sp(ws, ['train', '--trees', '10'])).json.data.path as string;
    const naive = (await sp(ws, ['train', '--kind', 'naive'])).json.data.model_id as string;
    const metrics = join(gbdt, 'metrics.json');
    const saved = await readFile(metrics, 'utf8');
    const cases: Array<[string, () => Promise<void>, string]> = [
      ['gone', async () => {}, 'SP_ERR_MODEL_MISSING'],
      ['a folder', () => mkdir(metrics), 'SP_ERR_MODEL_FORMAT'],
      ['not JSON', () => writeFile(metrics, '{"split'), 'SP_ERR_MODEL_FORMAT'],
      ['null', () => writeFile(metrics, 'null'), 'SP_ERR_MODEL_FORMAT'],
      ['no split', () => writeFile(metrics, '{}'), 'SP_ERR_MODEL_FORMAT'],
    ];
    for (const [what, damage, code] of cases) {
      await rm(metrics, { recursive: true, force: true });
      await damage();
      const r = await sp(ws, ['evaluate', 'champion']);
      expect(r.json.error?.code, what).toBe(code);
      expect(r.json.error!.message, what).toContain(metrics);
    }
    await rm(metrics, { recursive: true });
    await writeFile(metrics, saved);
    // Evaluating the naive model compares the gbdt on the same slice: its model.json a folder is named, not EISDIR.
    await rm(join(gbdt, 'model.json'));
    await mkdir(join(gbdt, 'model.json'));
    const other = await sp(ws, ['evaluate', naive]);
    expect(other.json.error?.code).toBe('SP_ERR_MODEL_FORMAT');
    expect(other.json.error!.message).toContain(join(gbdt, 'model.json'));
  });

  it('evaluate on data that no longer reaches the model\'s test slice is SP_ERR_TRAIN_DATA naming the cut and --as-of, not NaN metrics', async () => {
    const ws = await tempWorkspace();
    for (const step of [['fetch', '--symbols', '12', '--years', '3'], ['ingest'], ['features', '--extended']]) expect((await sp(ws, step)).code).toBe(0);
    const t = await sp(ws, ['train', '--trees', '5']);
    expect(t.code, t.stderr).toBe(0);
    const f = await sp(ws, ['train', '--task', 'forecast', '--trees', '5']);
    expect(f.code, f.stderr).toBe(0);
    // the source replaced by a shorter history: every row is dated before the models' test slices
    for (const step of [['fetch', '--symbols', '12', '--years', '1', '--switch-source'], ['ingest'], ['features', '--extended']]) expect((await sp(ws, step)).code).toBe(0);
    for (const [model, testFrom, metric] of [[t, t.json.data.split.test_from, 'gbdt'], [f, f.json.data.split.test_from, 'forecast']] as const) {
      const id = model.json.data.model_id as string;
      const r = await sp(ws, ['evaluate', id]);
      expect(r.code, id).toBe(1);
      expect(r.json.error!.code).toBe('SP_ERR_TRAIN_DATA');
      expect(r.json.error!.message).toContain(id);
      expect(r.json.error!.message).toContain(testFrom as string);
      expect(r.json.error!.hint).toContain(`evaluate ${id} --as-of 2`);
      const old = await sp(ws, ['evaluate', id, '--as-of', '2']);
      expect(old.code, old.stderr).toBe(0);
      expect(Object.keys(old.json.data.metrics)).toContain(metric);
    }
  });

  it('evaluate after features with a longer --window scores the model and says the polyreg baseline could not be refitted (it failed whole: "polyreg needs at least 6 training rows")', async () => {
    const ws = await tempWorkspace();
    for (const step of [['fetch', '--symbols', '5', '--years', '3'], ['ingest'], ['features']]) expect((await sp(ws, step)).code).toBe(0);
    const t = await sp(ws, ['train', '--trees', '5']);
    expect(t.code, t.stderr).toBe(0);
    // Every row with features now lies in the model's test slice: none before it to fit polyreg on.
    expect((await sp(ws, ['features', '--window', '700'])).code).toBe(0);
    const r = await sp(ws, ['evaluate', t.json.data.model_id]);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(r.json.data.metrics).sort()).toEqual(['gbdt', 'naive']);
    expect(r.json.data.baselines_skipped.polyreg).toMatch(/^not fitted: 0 rows with both features before the test slice in .*, it needs 6$/);
    expect(r.json.data.test.rows).toBeGreaterThan(0);
    // The inputs now mean other things than the model learned (a 700-row mean, not a 30-row one): said, in --json and for people.
    expect(r.json.data.snapshot.window).toEqual({ read: 700, trained_on: 30, same: false });
    const human = await cli(['evaluate', t.json.data.model_id, '-w', ws]);
    expect(human.stdout).toMatch(/\n {2}polyreg baseline not fitted: 0 rows/);
    expect(human.stdout).toMatch(/\n {2}features built with --window 700; the model was trained on --window 30: vol_moving_avg and adj_close_rolling_med mean other things/);
    // On the snapshot it was trained on, nothing to say.
    const own = await sp(ws, ['evaluate', t.json.data.model_id, '--as-of', String(r.json.data.snapshot.trained_on)]);
    expect(own.json.data.snapshot.window).toEqual({ read: 30, trained_on: 30, same: true });
    // A model of so few rows has too few calibration residuals for 95% intervals: left out with its reason, not silently.
    expect((await sp(ws, ['features', '--window', '740'])).code).toBe(0);
    const few = await sp(ws, ['train', '--trees', '5']);
    expect(few.code, few.stderr).toBe(0);
    const iv = few.json.data.intervals as { n: number; coverage: { coverage: number }[]; not_reported: { coverage: number; reason: string }[] };
    expect(iv.n).toBeLessThan(19);
    expect(iv.not_reported.map((u) => u.coverage)).toContain(0.95);
    expect([...iv.coverage.map((c) => c.coverage), ...iv.not_reported.map((u) => u.coverage)].sort()).toEqual([0.8, 0.9, 0.95]);
    expect(iv.not_reported.find((u) => u.coverage === 0.95)!.reason).toBe(`no finite interval: ${iv.n} calibration residuals give at most ${((100 * iv.n) / (iv.n + 1)).toFixed(1)}% (n/(n + 1)); it needs at least 19`);
    expect(await readFile(join(few.json.data.path, 'card.md'), 'utf8')).toContain(`| 95.0% | - | - | no finite interval: ${iv.n} calibration residuals`);
  });

  it('after the data grew, --promote-if-better re-scores the champion on the candidate\'s CV folds (never the test slice) instead of refusing', async () => {
    const w = await tempWorkspace();
    for (const step of [['fetch', '--symbols', '15', '--years', '2'], ['ingest'], ['features']]) expect((await sp(w, step)).code).toBe(0);
    const first = await sp(w, ['train', '--trees', '20', '--promote-if-better']);
    expect(first.json.data.promotion.promoted).toBe(true);
    for (const step of [['fetch', '--symbols', '15', '--years', '3', '--switch-source'], ['ingest'], ['features']]) expect((await sp(w, step)).code).toBe(0);
    const second = await sp(w, ['train', '--kind', 'polyreg', '--promote-if-better']);
    expect(second.code, second.stderr).toBe(0);
    const p = second.json.data.promotion;
    expect(p).toMatchObject({ champion_before: first.json.data.model_id, holder_rescored: true, candidate_rescored: false, same_test_slice: false });
    expect(p.compared).toMatch(/^rmse_log on cv over 3 pre-test folds .*re-scored there/);
    expect(Number.isFinite(p.champion_value)).toBe(true);
    expect(p.champion_value).not.toBe(first.json.data.metrics.gbdt.rmse_log); // measured on the new rows
    expect(p.candidate_value).toBe(second.json.data.cv_rmse_log); // the candidate's own CV score
    expect(p.promoted).toBe(p.candidate_value < p.champion_value);
    // A metric its backtest did not record would score the refitted candidate on rows it was fitted on:
    // refused, naming the metric it has, never decided in sample.
    // evaluate says which features snapshot it scored, and that it is not the one the model was trained on.
    const ev = await sp(w, ['evaluate', first.json.data.model_id]);
    expect(ev.json.data.snapshot).toMatchObject({ trained_on: first.json.data.lineage.features_snapshot, read: second.json.data.lineage.features_snapshot, same: false });
    const evHuman = await cli(['evaluate', first.json.data.model_id, '--as-of', String(first.json.data.lineage.features_snapshot), '-w', w]);
    expect(evHuman.stdout).toContain(`features snapshot ${first.json.data.lineage.features_snapshot} (the one it was trained on)`);
    const mae = await sp(w, ['models', 'promote', second.json.data.model_id, '--metric', 'mae']);
    expect(mae.code).toBe(1);
    expect(mae.json.error?.code).toBe('SP_ERR_PROMOTE_REFUSED');
    expect(mae.json.error?.hint).toMatch(/--metric/); // not "re-evaluate on the same test slice": promotion never reads it
    expect(mae.json.error?.hint).not.toMatch(/test slice/);
    expect(mae.json.error?.message).toMatch(/backtest \(.*\) has no metric mae; it has rmse_log \(a candidate is not re-scored for another metric: it may have been fitted on those rows; compare by rmse_log\)$/);
  }, 240_000);
});
