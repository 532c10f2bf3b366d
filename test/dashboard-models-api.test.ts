/** The Models view's routes (GET /models search, /models/:id/page, /curves, /importance, /residuals,
 * /models/history, /models/champion-compare) through Fastify's inject, and `stockpipe models tag`,
 * on a real small synthetic workspace: a cv gbdt, a polyreg, a second gbdt with other parameters
 * (promoted if better) and a day-ahead model, all trained by the CLI. */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainingLog } from '../src/ml/training-curve.js';
import { openRegistry } from '../src/registry/store.js';
import { buildApp } from '../src/serve/app.js';
import { differingParams } from '../src/dashboard/routes-models.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';
import { silentLog } from './helpers/workspace.js';

let ws = '';
let app: Awaited<ReturnType<typeof buildApp>>['app'];
const ids = { gbdt: '', poly: '', gbdt2: '', forecast: '' };

function sp(...args: string[]): { code: number | null; json: { ok: boolean; data?: Record<string, unknown>; error?: { code: string } } } {
  const r = runCli([...args, '-w', ws, '--quiet', '--json']);
  return { code: r.code, json: JSON.parse(r.stdout) as { ok: boolean; data?: Record<string, unknown>; error?: { code: string } } };
}
const trained = (...args: string[]): string => {
  const r = sp('train', ...args);
  expect(r.code).toBe(0);
  return r.json.data!.model_id as string;
};
const get = async <T>(url: string, status = 200): Promise<T> => {
  const r = await app.inject(url);
  expect(r.statusCode, `${url}: ${r.body}`).toBe(status);
  return JSON.parse(r.body) as T;
};

beforeAll(async () => {
  ws = await tempDir('dash-models');
  for (const args of [['fetch', '--symbols', '8', '--years', '2'], ['ingest'], ['features', '--extended']]) expect(sp(...args).code).toBe(0);
  ids.gbdt = trained();
  ids.poly = trained('--kind', 'polyreg');
  ids.gbdt2 = trained('--learning-rate', '0.05', '--trees', '60');
  ids.forecast = trained('--task', 'forecast');
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  ({ app } = await buildApp({ workspace: ws, holder, accessLog: null, version: 'test', dashboardDir: join(ws, 'no-dashboard') }));
}, 120_000);
afterAll(async () => {
  await app?.close();
});

interface Page {
  model: { id: string; kind: string; tags: Record<string, string> };
  summary: { task: string; columns: { metric: string; scale?: string; unit: string }[]; rows: { name: string; model: boolean; metrics: Record<string, number | null> }[]; wins?: { metric: string; baselines: string[] }[]; skill_volume?: number | null; skill_adj_close?: number | null };
  params: Record<string, string | null>;
  protocol: { folds?: unknown[]; cv_rmse_log?: number; trees?: number } | null;
  intervals: { coverage: unknown[] } | null;
  intervals_file: 'ok' | 'missing' | 'invalid' | null;
  problems: string[];
  lineage: { features_snapshot: number | null; link: string };
  card: string | null;
}

describe('model page routes', () => {
  it('GET /models/:id/page: raw and log scores with units beside the baselines, the baselines that win, protocol, intervals, params, lineage, card', async () => {
    const p = await get<Page>(`/models/${ids.gbdt}/page`);
    expect(p.summary.task).toBe('volume');
    expect(p.summary.columns.map((c) => `${c.metric}:${c.unit}`)).toEqual(['mae:shares', 'rmse:shares', 'r2:', 'mae_log:log1p(shares)', 'rmse_log:log1p(shares)', 'r2_log:']);
    expect(p.summary.rows.map((r) => r.name)).toEqual(['gbdt', 'naive', 'polyreg']);
    // The wins are exactly the baselines with a lower error than the model on that metric.
    const own = p.summary.rows[0]!.metrics;
    for (const metric of ['rmse', 'rmse_log']) {
      const expected = p.summary.rows.slice(1).filter((r) => r.metrics[metric]! < own[metric]!).map((r) => r.name);
      expect(p.summary.wins!.find((w) => w.metric === metric)?.baselines ?? []).toEqual(expected);
    }
    expect(p.protocol?.folds).toHaveLength(3);
    expect(p.protocol?.trees).toBeGreaterThan(0);
    expect(p.intervals?.coverage.length).toBeGreaterThan(0);
    expect(p.intervals_file).toBe('ok');
    expect(p.params.learning_rate).toBe('0.1');
    expect(p.lineage.features_snapshot).toBeGreaterThan(0);
    expect(p.lineage.link).toBe(`#/lineage/model/${ids.gbdt}`);
    expect(p.card).toContain(`# Model card: ${ids.gbdt}`);
    const byAlias = await get<Page>('/models/champion/page');
    expect([ids.gbdt, ids.gbdt2]).toContain(byAlias.model.id);
  });

  // Probed after issue 16: the page showed intervals the server could not serve (409) once intervals.json was gone.
  it('says when intervals.json is missing or invalid: the coverage table is the training report, the server answers 409', async () => {
    const file = join(ws, 'models', ids.gbdt2!, 'intervals.json');
    const good = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, '{"format":"stockpipe-conformal","version":1}');
      expect((await get<Page>(`/models/${ids.gbdt2}/page`)).intervals_file).toBe('invalid');
      rmSync(file);
      const p = await get<Page>(`/models/${ids.gbdt2}/page`);
      expect([p.intervals_file, p.intervals === null]).toEqual(['missing', false]);
      // A folder where the file should be: invalid, said among the page's problems (it was a 500).
      mkdirSync(file);
      const f = await get<Page>(`/models/${ids.gbdt2}/page`);
      expect([f.intervals_file, f.problems]).toEqual(['invalid', ['intervals.json is not a regular file (a folder)']]);
      rmSync(file, { recursive: true });
      expect((await get<Page>(`/models/${ids.forecast}/page`)).intervals_file).toBeNull();
    } finally {
      writeFileSync(file, good);
    }
  });

  // Probed: with the folder deleted, the page answered with every file null and no problem at all.
  it('a model whose folder or model.json is gone says so among the page\'s problems', async () => {
    const dir = join(ws, 'models', ids.poly!);
    const aside = `${dir}.aside`;
    renameSync(dir, aside);
    try {
      const p = await get<Page>(`/models/${ids.poly}/page`);
      expect(p.problems).toEqual(["the model's folder is missing (removed outside stockpipe): it cannot be served, evaluated or promoted"]);
      expect(p.model.id).toBe(ids.poly);
    } finally {
      renameSync(aside, dir);
    }
    const modelJson = join(dir, 'model.json');
    renameSync(modelJson, `${modelJson}.aside`);
    try {
      expect((await get<Page>(`/models/${ids.poly}/page`)).problems).toEqual(['model.json is missing: the model cannot be served, evaluated or promoted']);
    } finally {
      renameSync(`${modelJson}.aside`, modelJson);
    }
    expect((await get<Page>(`/models/${ids.poly}/page`)).problems).toEqual([]);
  });

  it('a metrics.json that does not parse or is no JSON object is a problem on the page, not a failed page; a damaged model.json or training.log is SP_ERR_MODEL_FORMAT naming it', async () => {
    const metrics = join(ws, 'models', ids.poly!, 'metrics.json');
    const good = readFileSync(metrics, 'utf8');
    try {
      writeFileSync(metrics, '{oops');
      const p = await get<Page>(`/models/${ids.poly}/page`);
      expect(p.problems).toHaveLength(1);
      expect(p.problems[0]).toMatch(/^metrics\.json is not valid JSON/);
      expect([p.model.id, p.intervals]).toEqual([ids.poly, null]);
      // JSON that is no object (`null` was a 500: the page read its fields) is a problem too.
      for (const text of ['null', '7', '[]']) {
        writeFileSync(metrics, text);
        expect((await get<Page>(`/models/${ids.poly}/page`)).problems, text).toEqual(['metrics.json is not a JSON object']);
      }
    } finally {
      writeFileSync(metrics, good);
    }
    // A model file that is a folder: the route names it (it was a 500, EISDIR), without the server's path.
    const folderInstead = async (id: string, file: string, route: string): Promise<void> => {
      const path = join(ws, 'models', id, file);
      const text = readFileSync(path, 'utf8');
      try {
        rmSync(path);
        mkdirSync(path);
        const r = await app.inject(`/models/${id}/${route}`);
        const e = (JSON.parse(r.body) as { error: { code: string; message: string } }).error;
        expect([r.statusCode, e.code, e.message.includes(`${file} is not a regular file`), r.body.includes(ws)]).toEqual([422, 'SP_ERR_MODEL_FORMAT', true, false]);
      } finally {
        rmSync(path, { recursive: true, force: true });
        writeFileSync(path, text);
      }
    };
    await folderInstead(ids.poly!, 'training.log', 'curves');
    await folderInstead(ids.gbdt2!, 'model.json', 'importance');
  });

  it('a day-ahead model\'s page shows its skill against persistence; its residuals point to monitoring', async () => {
    const p = await get<Page>(`/models/${ids.forecast}/page`);
    const reg = openRegistry(ws, { readonly: true });
    const metrics = reg.getModel(ids.forecast).metrics.forecast!;
    reg.close();
    expect(p.summary.task).toBe('forecast');
    expect([p.summary.skill_volume, p.summary.skill_adj_close]).toEqual([metrics.skill_volume, metrics.skill_adj_close]);
    expect(p.summary.rows.map((r) => r.name)).toContain('persistence');
    const r = await get<{ residuals: unknown; reason: string }>(`/models/${ids.forecast}/residuals`);
    expect(r.residuals).toBeNull();
    expect(r.reason).toContain('Monitoring');
  });

  it('GET /models/:id/curves: the training run\'s step metrics equal training.log\'s curves, thinned to `points`', async () => {
    const c = await get<{ source: string; curves: { key: string; steps: number[]; values: number[]; total: number }[] }>(`/models/${ids.gbdt2}/curves?points=5000`);
    expect(c.source).toBe('registry');
    const fromLog = parseTrainingLog(await readFile(join(ws, 'models', ids.gbdt2, 'training.log'), 'utf8'));
    expect(c.curves.map((x) => [x.key, x.steps, x.values])).toEqual(fromLog.map((x) => [x.key, x.steps, x.values]));
    expect(c.curves.map((x) => x.key)).toEqual(['fold1.valid_rmse_log', 'fold2.valid_rmse_log', 'fold3.valid_rmse_log', 'refit.train_loss']);
    // A day-ahead model: each booster's curves under its own part (the volume booster's early-stopping
    // curve too), in its own loss (the volume booster's default huber).
    const fc = await get<{ source: string; curves: { key: string; metric: string; unit: string }[] }>(`/models/${ids.forecast}/curves?points=5000`);
    expect(fc.source).toBe('registry');
    expect(fc.curves.map((x) => [x.key, x.metric])).toEqual([['adj_close.train_loss', 'mse'], ['adj_close.valid_loss', 'mse'], ['volume.train_loss', 'huber'], ['volume.valid_loss', 'huber'], ['adj_close_refit.train_loss', 'mse'], ['volume_refit.train_loss', 'huber']]);
    expect(fc.curves.find((x) => x.key === 'volume.valid_loss')?.unit).toBe('mean huber loss of the fitted target');
    const thin = await get<{ curves: { steps: number[]; total: number }[] }>(`/models/${ids.forecast}/curves?points=10`);
    expect(thin.curves.map((x) => x.steps.length <= 10 && x.steps.length === Math.min(10, x.total))).not.toContain(false);
    await get(`/models/${ids.gbdt}/curves?points=2`, 400);
  });

  it('GET /models/:id/importance counts every split of the trees per feature; polyreg has none', async () => {
    const imp = await get<{ boosters: { booster: string; features: { feature: string; splits: number }[] }[] }>(`/models/${ids.gbdt}/importance`);
    const model = JSON.parse(await readFile(join(ws, 'models', ids.gbdt, 'model.json'), 'utf8')) as { trees: { feature: number[] }[] };
    const internal = model.trees.reduce((n, t) => n + t.feature.filter((f) => f >= 0).length, 0);
    expect(imp.boosters.map((b) => b.booster)).toEqual(['volume']);
    expect(imp.boosters[0]!.features.reduce((n, f) => n + f.splits, 0)).toBe(internal);
    expect(imp.boosters[0]!.features.map((f) => f.feature).sort()).toEqual(['adj_close_rolling_med', 'vol_moving_avg']);
    // the total split gain per feature: the sum of model.json's gains at that feature's nodes
    const gains = (model as unknown as { feature_names: string[]; trees: { feature: number[]; gain: number[] }[] });
    const byFeature = (name: string): number => gains.trees.reduce((s, t) => s + t.feature.reduce((u, f, i) => u + (gains.feature_names[f] === name ? t.gain[i]! : 0), 0), 0);
    for (const f of imp.boosters[0]!.features as unknown as { feature: string; gain: number; gain_share: number }[]) expect(f.gain).toBeCloseTo(byFeature(f.feature), 6);
    expect((imp as unknown as { measure: string }).measure).toBe('splits+gain');
    expect((await get<{ boosters: unknown[] }>(`/models/${ids.poly}/importance`)).boosters).toEqual([]);
    expect((await get<{ boosters: { booster: string }[] }>(`/models/${ids.forecast}/importance`)).boosters.map((b) => b.booster)).toEqual(['adj_close', 'volume']);
  });

  it('GET /models/:id/residuals scores the test slice of the model\'s own snapshot: its rmse_log equals the registered one', async () => {
    for (const id of [ids.gbdt, ids.poly]) {
      const r = await get<{ residuals: { rows: number; rmse_log: number; histogram: { counts: number[]; below: number; above: number }; sample: { actual: number[] } } }>(`/models/${id}/residuals?points=200`);
      const reg = openRegistry(ws, { readonly: true });
      const m = reg.getModel(id);
      reg.close();
      expect(r.residuals.rows).toBe(m.test_slice!.rows);
      expect(r.residuals.rmse_log).toBeCloseTo(m.metrics[m.kind]!.rmse_log!, 9);
      expect(r.residuals.histogram.counts.reduce((a, b) => a + b, 0) + r.residuals.histogram.below + r.residuals.histogram.above).toBe(r.residuals.rows);
      expect(r.residuals.sample.actual).toHaveLength(200);
    }
  });

  it('GET /models/history and /models/champion-compare: every volume model in order, the serving one marked, the champion against the models before it', async () => {
    const reg = openRegistry(ws, { readonly: true });
    const champion = reg.aliasTarget('champion')!;
    reg.close();
    const h = await get<{ unit: string; models: { id: string; value: number | null; serving: boolean }[]; moves: unknown[] }>('/models/history?family=volume&metric=rmse');
    expect(h.unit).toBe('shares');
    expect(h.models.map((m) => m.id)).toEqual([ids.gbdt, ids.poly, ids.gbdt2]);
    expect(h.models.filter((m) => m.serving).map((m) => m.id)).toEqual([champion]);
    expect(h.models.every((m) => typeof m.value === 'number')).toBe(true);
    expect((await get<{ models: { id: string }[] }>('/models/history?family=forecast')).models.map((m) => m.id)).toEqual([ids.forecast]);
    await get('/models/history?metric=DROP%20TABLE', 400);
    // Only the family's test metrics (an unknown one answered every value null; 'constructor' lost the unit).
    for (const bad of ['foo', 'constructor', 'skill_volume']) await get(`/models/history?metric=${bad}`, 400);
    await get('/models/history?family=forecast&metric=rmse_log', 400);
    const fc = await get<{ metric: string; unit: string; models: { value: number | null }[] }>('/models/history?family=forecast');
    expect([fc.metric, fc.unit, typeof fc.models[0]!.value]).toEqual(['skill_volume', '1 − MAE/MAE_persistence', 'number']);

    const c = await get<{ champion: string; models: { id: string; metrics: Record<string, number | null> }[]; differing_params: string[] }>('/models/champion-compare');
    expect(c.champion).toBe(champion);
    expect(c.models[0]!.id).toBe(champion);
    const order = [ids.gbdt2, ids.poly, ids.gbdt];
    expect(c.models.map((m) => m.id)).toEqual([champion, ...order.slice(order.indexOf(champion) + 1)]);
    expect(Object.keys(c.models[0]!.metrics)).toEqual(['mae', 'rmse', 'r2', 'mae_log', 'rmse_log', 'r2_log']);
    if (champion === ids.gbdt2) expect(c.differing_params).toEqual(expect.arrayContaining(['kind', 'learning_rate']));
    expect(c.differing_params).not.toContain('bagging_fraction'); // set on both gbdts, equal; absent on polyreg
    // Which process trained each model differs every time: bookkeeping, not a parameter.
    expect(differingParams([
      { kind: 'gbdt', learning_rate: '0.1', bagging_fraction: '1', runner_pid: '100', runner_start: 'a', runner_host: 'h1' },
      { kind: 'gbdt', learning_rate: '0.3', bagging_fraction: '1', runner_pid: '200', runner_start: 'b', runner_host: 'h2' },
      { kind: 'polyreg', runner_pid: '300' },
    ])).toEqual(['kind', 'learning_rate']);
  });

  it('every model route answers 404 SP_ERR_MODEL_NOT_FOUND for an unknown model', async () => {
    for (const route of ['page', 'curves', 'importance', 'residuals']) {
      expect((await get<{ error: { code: string } }>(`/models/nope/${route}`, 404)).error.code).toBe('SP_ERR_MODEL_NOT_FOUND');
    }
  });
});

describe('tags and search', () => {
  it('models tag sets, lists and removes tags (--json); bad input exits 2 with SP_ERR_TAG_INVALID and changes nothing', async () => {
    const set = sp('models', 'tag', ids.gbdt, 'stage=production', 'owner=ana');
    expect(set.code).toBe(0);
    expect(set.json.data).toEqual({ model_id: ids.gbdt, tags: { owner: 'ana', stage: 'production' }, set: ['stage', 'owner'], removed: [] });
    expect(sp('models', 'tag', ids.poly, 'stage=staging').code).toBe(0);
    const removed = sp('models', 'tag', ids.gbdt, '--remove', 'owner');
    expect(removed.json.data).toMatchObject({ tags: { stage: 'production' }, removed: ['owner'] });
    // (every malformed form is covered by src/registry/tags.test.ts; here: the exit code and that nothing changed)
    for (const bad of [['stage', 'owner=bo'], ['a=b', '--remove', 'a']]) {
      const r = sp('models', 'tag', ids.gbdt, ...bad);
      expect([r.code, r.json.error?.code], bad.join(' ')).toEqual([2, 'SP_ERR_TAG_INVALID']);
    }
    const missing = sp('models', 'tag', 'nope', 'a=b');
    expect([missing.code, missing.json.error?.code]).toEqual([1, 'SP_ERR_MODEL_NOT_FOUND']);
    const listed = sp('models', 'list').json.data as unknown as { id: string; tags: Record<string, string> }[];
    expect(listed.find((m) => m.id === ids.poly)?.tags).toEqual({ stage: 'staging' });
    expect(listed.find((m) => m.id === ids.gbdt)?.tags).toEqual({ stage: 'production' }); // the refused commands changed nothing
    // models show has them too (it had none), by id or alias, and {} for a model without.
    expect((sp('models', 'show', ids.gbdt).json.data as { tags: Record<string, string> }).tags).toEqual({ stage: 'production' });
    expect((sp('models', 'show', ids.forecast).json.data as { tags: Record<string, string> }).tags).toEqual({});
    // models tag writes, so each one that ran records a run (kind tag): 3 finished, 1 failed on the unknown model;
    // the usage errors (exit 2) never started and record none.
    const runs = (sp('runs', 'list', '--kind', 'tag').json.data as unknown as { runs: { status: string; error: string | null }[] }).runs;
    expect(runs.map((r) => r.status).sort()).toEqual(['failed', 'finished', 'finished', 'finished']);
    expect(runs.find((r) => r.status === 'failed')?.error).toMatch(/^SP_ERR_MODEL_NOT_FOUND: /);
  });

  it('GET /models searches by tag, kind, alias and free text, with each model\'s summary; a bad tag filter is a 400', async () => {
    sp('models', 'tag', ids.forecast, 'stage=shadow');
    type List = { total: number; models: { id: string; tags: Record<string, string>; summary: { task: string } }[] };
    const ids_ = (l: List): string[] => l.models.map((m) => m.id);
    expect(ids_(await get<List>('/models?tag=stage'))).toEqual(expect.arrayContaining([ids.gbdt, ids.poly, ids.forecast]));
    expect(ids_(await get<List>('/models?tag=stage%3Dproduction'))).toEqual([ids.gbdt]);
    expect(ids_(await get<List>('/models?kind=forecast'))).toEqual([ids.forecast]);
    expect(ids_(await get<List>('/models?q=shadow'))).toEqual([ids.forecast]);
    expect(ids_(await get<List>('/models?alias=forecast_champion'))).toEqual([ids.forecast]);
    const all = await get<List>('/models');
    expect(all.total).toBe(4);
    expect(all.models.find((m) => m.id === ids.forecast)?.summary.task).toBe('forecast');
    expect((await get<{ error: { code: string } }>('/models?tag=bad%20key', 400)).error.code).toBe('SP_ERR_TAG_INVALID');
    expect((await get<{ error: { code: string } }>('/models?kind=svm', 400)).error.code).toBe('SP_ERR_BAD_REQUEST');
    // A control character in q (a NUL ended SQLite's LIKE pattern: every model matched) and an alias
    // that is no alias name are 400s, not searches.
    for (const url of ['/models?q=%00', '/models?q=a%0Ab', '/models?alias=%20', '/models?alias=a%2Fb']) {
      expect((await get<{ error: { code: string } }>(url, 400)).error.code, url).toBe('SP_ERR_BAD_REQUEST');
    }
  });
});

describe('tags from the page', () => {
  type Change = { model_id: string; tags: Record<string, string>; set: string[]; removed: string[] };
  type Err = { error: { code: string; message: string; hint: string } };
  const send = async <T>(method: 'POST' | 'DELETE', url: string, payload?: unknown, status = 200): Promise<T> => {
    const r = await app.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }) });
    expect(r.statusCode, `${method} ${url}: ${r.body}`).toBe(status);
    return JSON.parse(r.body) as T;
  };
  const tagRuns = (): { name: string; status: string; error: string | null; params: Record<string, string> }[] => {
    const reg = openRegistry(ws, { readonly: true });
    try {
      return reg.all<{ run_id: string; name: string; status: string; error: string | null }>('test', "SELECT run_id, name, status, error FROM runs WHERE kind = 'tag' AND name LIKE '% /models/%' ORDER BY rowid")
        .map((r) => ({ ...r, params: Object.fromEntries(reg.all<{ key: string; value: string }>('test', 'SELECT key, value FROM params WHERE run_id = ?', [r.run_id]).map((p) => [p.key, p.value])) }));
    } finally {
      reg.close();
    }
  };

  it('POST /models/:id/tags sets and removes as `models tag` does (a run of kind tag each), GET /models?tag= finds it, DELETE removes one', async () => {
    const set = await send<Change>('POST', `/models/${ids.gbdt2}/tags`, { set: { stage: 'candidate', 'team/owner': 'ana=b' } });
    expect(set).toEqual({ model_id: ids.gbdt2, tags: { stage: 'candidate', 'team/owner': 'ana=b' }, set: ['stage', 'team/owner'], removed: [] });
    const found = await get<{ models: { id: string }[] }>('/models?tag=stage%3Dcandidate');
    expect(found.models.map((m) => m.id)).toEqual([ids.gbdt2]);
    // the same as the CLI sees
    expect((sp('models', 'tag', ids.gbdt2).json.data as unknown as Change).tags).toEqual(set.tags);
    const both = await send<Change>('POST', `/models/${ids.gbdt2}/tags`, { set: { stage: 'shadow' }, remove: ['team/owner', 'absent'] });
    expect(both).toMatchObject({ tags: { stage: 'shadow' }, set: ['stage'], removed: ['team/owner'] });
    const del = await send<Change>('DELETE', `/models/${ids.gbdt2}/tags/stage`);
    expect(del).toMatchObject({ tags: {}, removed: ['stage'] });
    expect((await send<Change>('DELETE', `/models/${ids.gbdt2}/tags/stage`)).removed).toEqual([]);
    const runs = tagRuns();
    expect(runs.map((r) => [r.name, r.status])).toEqual([
      [`POST /models/${ids.gbdt2}/tags`, 'finished'], [`POST /models/${ids.gbdt2}/tags`, 'finished'],
      [`DELETE /models/${ids.gbdt2}/tags/stage`, 'finished'], [`DELETE /models/${ids.gbdt2}/tags/stage`, 'finished'],
    ]);
    expect(runs[1]!.params).toMatchObject({ command: 'api', 'arg.id': ids.gbdt2, 'arg.tags': '["stage=shadow"]', 'option.remove': '["team/owner","absent"]', actor: 'dashboard' });
  });

  it('bad keys and values are a 400 SP_ERR_TAG_INVALID, an unknown model a 404, an empty change a 400; none changes a tag, each fails its run', async () => {
    await send('POST', `/models/${ids.gbdt2}/tags`, { set: { keep: 'me' } });
    const before = tagRuns().length;
    const cases: [string, 'POST' | 'DELETE', string, unknown, number, string][] = [
      ['a key with a space', 'POST', `/models/${ids.gbdt2}/tags`, { set: { 'bad key': 'x' } }, 400, 'SP_ERR_TAG_INVALID'],
      ['an empty value', 'POST', `/models/${ids.gbdt2}/tags`, { set: { stage: '' } }, 400, 'SP_ERR_TAG_INVALID'],
      ['a control character', 'POST', `/models/${ids.gbdt2}/tags`, { set: { stage: 'a\nb' } }, 400, 'SP_ERR_TAG_INVALID'],
      ['a value over 256 characters', 'POST', `/models/${ids.gbdt2}/tags`, { set: { stage: 'x'.repeat(257) } }, 400, 'SP_ERR_TAG_INVALID'],
      ['one good and one bad key (all or nothing)', 'POST', `/models/${ids.gbdt2}/tags`, { set: { ok: 'x', '9lives': 'y' } }, 400, 'SP_ERR_TAG_INVALID'],
      ['a key both set and removed', 'POST', `/models/${ids.gbdt2}/tags`, { set: { keep: 'x' }, remove: ['keep'] }, 400, 'SP_ERR_TAG_INVALID'],
      ['a bad key to remove', 'DELETE', `/models/${ids.gbdt2}/tags/bad%20key`, undefined, 400, 'SP_ERR_TAG_INVALID'],
      ['an unknown model', 'POST', '/models/nope/tags', { set: { a: 'b' } }, 404, 'SP_ERR_MODEL_NOT_FOUND'],
      ['nothing to change', 'POST', `/models/${ids.gbdt2}/tags`, {}, 400, 'SP_ERR_BAD_REQUEST'],
      ['a value that is not a string', 'POST', `/models/${ids.gbdt2}/tags`, { set: { a: 1 } }, 400, 'SP_ERR_BAD_REQUEST'],
      ['an unknown field', 'POST', `/models/${ids.gbdt2}/tags`, { tags: { a: 'b' } }, 400, 'SP_ERR_BAD_REQUEST'],
    ];
    for (const [name, method, url, body, status, code] of cases) {
      const e = await send<Err>(method, url, body, status);
      expect(e.error.code, name).toBe(code);
      expect(e.error.hint.length, name).toBeGreaterThan(10);
    }
    expect((await get<Page>(`/models/${ids.gbdt2}/page`)).model.tags).toEqual({ keep: 'me' });
    // Each refusal past the body's schema is a failed run with its code; the schema's 400s start none.
    const failed = tagRuns().slice(before);
    expect(failed.map((r) => r.status)).toEqual(Array(9).fill('failed'));
    expect(failed.map((r) => r.error?.split(':')[0])).toEqual([...Array(7).fill('SP_ERR_TAG_INVALID'), 'SP_ERR_MODEL_NOT_FOUND', 'SP_ERR_BAD_REQUEST']);
  });

  // Probed: DELETE /models/:id/tags/:key with a body ({"remove": ["keep"]}) answered 200 and ignored it.
  it('DELETE /models/:id/tags/:key takes no body: one is a 400 that changes nothing and records no run; none or {} removes the key', async () => {
    await send('POST', `/models/${ids.gbdt2}/tags`, { set: { keep: 'me', drop: 'x' } });
    const before = tagRuns().length;
    for (const body of [{ remove: ['keep'] }, ['keep'], { key: 'keep' }]) {
      const e = await send<Err>('DELETE', `/models/${ids.gbdt2}/tags/drop`, body, 400);
      expect(e.error.code).toBe('SP_ERR_BAD_REQUEST');
      expect(e.error.message).toContain('takes no body');
    }
    expect(tagRuns().length).toBe(before);
    expect((await get<Page>(`/models/${ids.gbdt2}/page`)).model.tags).toEqual({ keep: 'me', drop: 'x' });
    expect((await send<Change>('DELETE', `/models/${ids.gbdt2}/tags/drop`, {})).tags).toEqual({ keep: 'me' });
  });

  // Probed after issue 16: a 40,000-character value came back whole (80 KB) and was stored whole in the failed run.
  it('quotes a huge key or value back cut to 100 characters, and records it cut in the run', async () => {
    for (const body of [{ set: { k: 'é'.repeat(40_000) } }, { set: { ['k'.repeat(5_000)]: 'v' } }, { remove: ['r'.repeat(5_000)] }]) {
      const r = await app.inject({ method: 'POST', url: `/models/${ids.gbdt2}/tags`, payload: body });
      expect(r.statusCode).toBe(400);
      expect(r.body.length, JSON.stringify(body).slice(0, 30)).toBeLessThan(1500);
      expect((JSON.parse(r.body) as Err).error.message).toMatch(/… \(\d+ characters\)/);
    }
    const last = tagRuns().at(-1)!;
    expect(JSON.stringify(last).length).toBeLessThan(4000);
  });
});
