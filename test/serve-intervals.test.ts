/** Prediction intervals in the API (docs/api.md): GET /predict/interval and POST /predict's coverage. */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { calibrateConformal, conformalQuantile, conformalToJSON, intervalAround } from '../src/ml/conformal.js';
import { buildApp } from '../src/serve/app.js';
import { MAX_SERVED_VOLUME, naiveScorer } from '../src/ml/volume-model.js';
import { ChampionHolder } from '../src/serve/champion.js';
import { polyJson, registerModel } from './helpers/models.js';
import { silentLog, tempWorkspace } from './helpers/workspace.js';

/** 99 residuals: finite intervals up to coverage 0.99. */
const CAL = calibrateConformal(Array.from({ length: 99 }, (_, i) => ((i % 2 === 0 ? 1 : -1) * (i + 1)) / 100), new Array<number>(99).fill(0), 'validation');

async function app(intervals: 'good' | 'none' | 'broken' | 'no-model' = 'good', model: 'poly' | 'naive' = 'poly') {
  const ws = await tempWorkspace();
  if (intervals !== 'no-model') {
    const dir = await registerModel(ws, `${model}-1`, model === 'poly' ? polyJson() : naiveScorer().toJSON(), { alias: 'champion' });
    if (intervals === 'good') await writeFile(join(dir, 'intervals.json'), conformalToJSON(CAL));
    if (intervals === 'broken') await writeFile(join(dir, 'intervals.json'), '{"format":"stockpipe-conformal","version":1}');
  }
  const holder = new ChampionHolder(ws, silentLog);
  await holder.refresh();
  return (await buildApp({ workspace: ws, holder, accessLog: null, version: 'test' })).app;
}

type Err = { error: { code: string; message: string; hint?: string; issues?: { param: string; code: string }[] } };
const Q = 'vol_moving_avg=2326635.5&adj_close_rolling_med=25.75';

describe('GET /predict/interval', () => {
  it('answers prediction, lower, upper, coverage and model_id; the prediction is GET /predict\'s', async () => {
    const a = await app();
    const point = JSON.parse((await a.inject(`/predict?${Q}`)).body) as number;
    const r = await a.inject(`/predict/interval?${Q}&coverage=0.9`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['x-model-id']).toBe('poly-1');
    const b = JSON.parse(r.body) as { prediction: number; lower: number; upper: number; coverage: number; model_id: string };
    expect(Object.keys(b).sort()).toEqual(['coverage', 'lower', 'model_id', 'prediction', 'upper']);
    expect(b.prediction).toBe(point);
    expect(b.coverage).toBe(0.9);
    expect(b.model_id).toBe('poly-1');
    // k = ⌈100 · 0.9⌉ = 90: the 90th smallest |residual| = 0.90.
    expect(conformalQuantile(CAL, 0.9)).toBeCloseTo(0.9, 12);
    const want = intervalAround(point, 0.9);
    expect(Math.abs(b.lower - want.lower)).toBeLessThanOrEqual(1);
    expect(Math.abs(b.upper - want.upper)).toBeLessThanOrEqual(1);
    expect(b.lower).toBeLessThan(b.prediction);
    expect(b.upper).toBeGreaterThan(b.prediction);
  });

  it('defaults to coverage 0.9, and widens with the coverage asked', async () => {
    const a = await app();
    const get = async (c?: number) => JSON.parse((await a.inject(`/predict/interval?${Q}${c === undefined ? '' : `&coverage=${c}`}`)).body) as { lower: number; upper: number; coverage: number };
    expect(await get()).toEqual(await get(0.9));
    const [c5, c8, c95] = [await get(0.5), await get(0.8), await get(0.95)];
    expect(c5.upper - c5.lower).toBeLessThan(c8.upper - c8.lower);
    expect(c8.upper - c8.lower).toBeLessThan(c95.upper - c95.lower);
  });

  it('refuses a bad coverage with 400 and the parameter\'s issue', async () => {
    const a = await app();
    const cases: [string, string][] = [['0', 'out_of_range'], ['1', 'out_of_range'], ['1.5', 'out_of_range'], ['-0.1', 'out_of_range'], ['90%25', 'not_a_number'], ['abc', 'not_a_number'], ['', 'empty'], ['0.9&coverage=0.8', 'repeated']];
    for (const [c, code] of cases) {
      const r = await a.inject(`/predict/interval?${Q}&coverage=${c}`);
      expect(r.statusCode, c).toBe(400);
      const body = JSON.parse(r.body) as Err;
      expect(body.error.code).toBe('SP_ERR_BAD_REQUEST');
      expect(body.error.issues!.find((i) => i.param === 'coverage')?.code, c).toBe(code);
    }
    const unknown = JSON.parse((await a.inject(`/predict/interval?${Q}&coverag=0.9`)).body) as Err;
    expect(unknown.error.issues!.map((i) => i.code)).toContain('unknown');
    expect((await a.inject('/predict/interval?vol_moving_avg=-1&adj_close_rolling_med=2')).statusCode).toBe(400);
  });

  it('a coverage beyond n/(n+1) → 422 SP_ERR_COVERAGE_UNATTAINABLE naming the largest', async () => {
    const a = await app();
    expect((await a.inject(`/predict/interval?${Q}&coverage=0.99`)).statusCode).toBe(200);
    const r = await a.inject(`/predict/interval?${Q}&coverage=0.995`);
    expect(r.statusCode).toBe(422);
    const body = JSON.parse(r.body) as Err;
    expect(body.error.code).toBe('SP_ERR_COVERAGE_UNATTAINABLE');
    expect(body.error.message).toMatch(/99 calibration residuals.*at most 0\.99\b/);
  });

  it('a model without intervals (older files) or with a broken intervals.json → 409 SP_ERR_NO_INTERVALS with a hint; GET /predict still serves', async () => {
    for (const kind of ['none', 'broken'] as const) {
      const a = await app(kind);
      const r = await a.inject(`/predict/interval?${Q}`);
      expect(r.statusCode, kind).toBe(409);
      const body = JSON.parse(r.body) as Err;
      expect(body.error.code).toBe('SP_ERR_NO_INTERVALS');
      expect(body.error.message).toMatch(kind === 'none' ? /without prediction intervals/ : /^model poly-1 has no prediction intervals: models\/poly-1\/intervals\.json: /);
      expect(body.error.hint).toMatch(/stockpipe train/);
      expect((await a.inject(`/predict?${Q}`)).statusCode).toBe(200);
    }
    expect((await (await app('no-model')).inject(`/predict/interval?${Q}`)).statusCode).toBe(503);
  });

  it('an invalid intervals.json restored while serving is served from the next poll (the model page said ok while the routes answered 409)', async () => {
    const ws = await tempWorkspace();
    const dir = await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    await writeFile(join(dir, 'intervals.json'), '{"format":"stockpipe-conformal","version":1}');
    const holder = new ChampionHolder(ws, silentLog);
    await holder.refresh();
    const a = (await buildApp({ workspace: ws, holder, accessLog: null, version: 'test' })).app;
    expect((await a.inject(`/predict/interval?${Q}`)).statusCode).toBe(409);
    await holder.refresh(); // unchanged: still none
    expect((await a.inject(`/predict/interval?${Q}`)).statusCode).toBe(409);
    await writeFile(join(dir, 'intervals.json'), conformalToJSON(CAL));
    await holder.refresh();
    const r = await a.inject(`/predict/interval?${Q}&coverage=0.9`);
    expect([r.statusCode, r.headers['x-model-id']]).toEqual([200, 'poly-1']);
  });

  it('a FIFO at intervals.json is refused without waiting on it: the model serves without intervals, and the alias\'s next move is followed', async () => {
    const ws = await tempWorkspace();
    const first = await registerModel(ws, 'poly-1', polyJson(), { alias: 'champion' });
    execFileSync('mkfifo', [join(first, 'intervals.json')]);
    const holder = new ChampionHolder(ws, silentLog);
    // Before: the read waited for a writer, this poll never ended, and no later poll ran.
    await holder.refresh();
    expect(holder.current?.id).toBe('poly-1');
    expect(holder.current?.intervals).toBeNull();
    expect(holder.current?.intervalsProblem).toMatch(/^models\/poly-1\/intervals\.json cannot be read \(not a regular file \(a FIFO\)\)$/);
    const a = (await buildApp({ workspace: ws, holder, accessLog: null, version: 'test' })).app;
    expect((await a.inject(`/predict/interval?${Q}`)).statusCode).toBe(409);
    await holder.refresh();
    const second = await registerModel(ws, 'poly-2', polyJson(), { alias: 'champion' });
    await writeFile(join(second, 'intervals.json'), conformalToJSON(CAL));
    await holder.refresh();
    const r = await a.inject(`/predict/interval?${Q}`);
    expect([r.statusCode, r.headers['x-model-id']]).toEqual([200, 'poly-2']);
  });

  it('counts a GET as one prediction and a HEAD (the same handler, no answer sent) as none', async () => {
    const a = await app();
    expect((await a.inject(`/predict/interval?${Q}`)).statusCode).toBe(200);
    expect((await a.inject({ method: 'HEAD', url: `/predict/interval?${Q}` })).statusCode).toBe(200);
    expect((await a.inject({ method: 'HEAD', url: `/predict/interval?${Q}` })).statusCode).toBe(200);
    expect((await a.inject('/metrics')).body).toMatch(/stockpipe_predictions_total\{model_id="poly-1"\} 1\n/);
  });

  it('is in the OpenAPI document with its coverage parameter', async () => {
    const a = await app();
    const doc = JSON.parse((await a.inject('/openapi.json')).body) as { paths: Record<string, { get?: { parameters?: { name: string }[] } }> };
    expect(doc.paths['/predict/interval']?.get?.parameters?.map((p) => p.name).sort()).toEqual(['adj_close_rolling_med', 'coverage', 'vol_moving_avg']);
  });

  it('gives coverage as strictly between 0 and 1 in the OpenAPI document (the server refuses 0 and 1), in the query and in POST /predict\'s body', async () => {
    const a = await app();
    type Schema = { minimum?: number; maximum?: number; exclusiveMinimum?: boolean; exclusiveMaximum?: boolean };
    const doc = JSON.parse((await a.inject('/openapi.json')).body) as { paths: Record<string, { get?: { parameters?: { name: string; schema: Schema }[] }; post?: { requestBody: { content: Record<string, { schema: { properties: Record<string, Schema> } }> } } }> };
    const query = doc.paths['/predict/interval']?.get?.parameters?.find((p) => p.name === 'coverage')?.schema;
    const body = doc.paths['/predict']?.post?.requestBody.content['application/json']?.schema.properties.coverage;
    for (const s of [query, body]) expect(s).toMatchObject({ minimum: 0, maximum: 1, exclusiveMinimum: true, exclusiveMaximum: true });
    for (const c of ['0', '1']) expect((await a.inject(`/predict/interval?${Q.replace(/&coverage=[^&]*/, '')}&coverage=${c}`)).statusCode).toBe(400);
  });
});

describe('POST /predict with coverage', () => {
  const instances = [{ vol_moving_avg: 2326635.5, adj_close_rolling_med: 25.75 }, { vol_moving_avg: 1000, adj_close_rolling_med: 3 }, { vol_moving_avg: 0, adj_close_rolling_med: 0 }];

  it('adds coverage and lower/upper per instance, equal to GET /predict/interval; without coverage the answer is as before', async () => {
    const a = await app();
    const r = await a.inject({ method: 'POST', url: '/predict', payload: { instances, coverage: 0.8 } });
    expect(r.statusCode).toBe(200);
    const b = JSON.parse(r.body) as { volumes: number[]; model: string; coverage: number; lower: number[]; upper: number[] };
    expect(b.coverage).toBe(0.8);
    expect(b.lower).toHaveLength(3);
    for (let i = 0; i < instances.length; i++) {
      const x = instances[i]!;
      const g = JSON.parse((await a.inject(`/predict/interval?vol_moving_avg=${x.vol_moving_avg}&adj_close_rolling_med=${x.adj_close_rolling_med}&coverage=0.8`)).body) as { prediction: number; lower: number; upper: number };
      expect([b.volumes[i], b.lower[i], b.upper[i]]).toEqual([g.prediction, g.lower, g.upper]);
      expect(b.lower[i]!).toBeLessThanOrEqual(b.volumes[i]!);
      expect(b.upper[i]!).toBeGreaterThanOrEqual(b.volumes[i]!);
    }
    const plain = JSON.parse((await a.inject({ method: 'POST', url: '/predict', payload: { instances } })).body) as Record<string, unknown>;
    expect(Object.keys(plain).sort()).toEqual(['model', 'volumes']);
    expect(plain.volumes).toEqual(b.volumes);
  });

  it('refuses a bad coverage with 400, an unattainable one with 422, and a model without intervals with 409', async () => {
    const a = await app();
    for (const coverage of [0, 1, 2, -0.5, '0.9', null]) {
      const r = await a.inject({ method: 'POST', url: '/predict', payload: { instances, coverage } });
      expect(r.statusCode, String(coverage)).toBe(400);
      expect((JSON.parse(r.body) as Err).error.code).toBe('SP_ERR_BAD_REQUEST');
    }
    expect((await a.inject({ method: 'POST', url: '/predict', payload: { instances, coverage: 0.999 } })).statusCode).toBe(422);
    const none = await app('none');
    const r = await none.inject({ method: 'POST', url: '/predict', payload: { instances, coverage: 0.9 } });
    expect(r.statusCode).toBe(409);
    expect((JSON.parse(r.body) as Err).error.code).toBe('SP_ERR_NO_INTERVALS');
    expect((await none.inject({ method: 'POST', url: '/predict', payload: { instances } })).statusCode).toBe(200);
  });
});

// Probed after issue 16: a prediction or bound beyond 2^53 − 1 (or Infinity: a polyreg champion at a
// price it never saw) was a 500 from the serializer, or a number in exponent notation.
describe('predictions that are no exact integer', () => {
  const POST = (a: Awaited<ReturnType<typeof app>>, payload: unknown) => a.inject({ method: 'POST', url: '/predict', payload: payload as object });

  it('GET /predict: 422 SP_ERR_PREDICTION_OUT_OF_RANGE beyond 2^53 − 1, the largest integer itself answered', async () => {
    const a = await app('good', 'naive'); // naive predicts vol_moving_avg itself
    const r = await a.inject('/predict?vol_moving_avg=1e300&adj_close_rolling_med=25');
    expect(r.statusCode, r.body).toBe(422);
    const e = (JSON.parse(r.body) as Err).error;
    expect(e.code).toBe('SP_ERR_PREDICTION_OUT_OF_RANGE');
    expect(e.message).toContain('naive-1');
    expect(e.hint?.length).toBeGreaterThan(10);
    const max = await a.inject(`/predict?vol_moving_avg=${MAX_SERVED_VOLUME}&adj_close_rolling_med=25`);
    expect(max.statusCode).toBe(200);
    expect(max.body).toBe(String(MAX_SERVED_VOLUME));
  });

  it('GET /predict/interval: a point within range whose upper bound is not → 422 naming the coverage', async () => {
    const a = await app('good', 'naive');
    const ok = await a.inject('/predict/interval?vol_moving_avg=1e12&adj_close_rolling_med=25&coverage=0.9');
    expect(ok.statusCode).toBe(200);
    const r = await a.inject('/predict/interval?vol_moving_avg=5e15&adj_close_rolling_med=25&coverage=0.9');
    expect(r.statusCode, r.body).toBe(422);
    const e = (JSON.parse(r.body) as Err).error;
    expect(e.code).toBe('SP_ERR_PREDICTION_OUT_OF_RANGE');
    expect(e.message).toContain('upper bound at coverage 0.9');
    expect(e.issues?.[0]?.param).toBe('coverage');
  });

  it('POST /predict: 422 naming the instance, for the volume or a bound', async () => {
    const a = await app('good', 'naive');
    const ok = { vol_moving_avg: 1000, adj_close_rolling_med: 1 };
    const r = await POST(a, { instances: [ok, { vol_moving_avg: 1.7e308, adj_close_rolling_med: 1 }] });
    expect(r.statusCode, r.body).toBe(422);
    expect((JSON.parse(r.body) as Err).error.issues?.[0]?.param).toBe('instances[1]');
    const b = await POST(a, { instances: [{ vol_moving_avg: 5e15, adj_close_rolling_med: 1 }, ok], coverage: 0.9 });
    expect(b.statusCode, b.body).toBe(422);
    expect((JSON.parse(b.body) as Err).error.issues?.[0]?.param).toBe('instances[0]');
    expect((await POST(a, { instances: [ok, ok], coverage: 0.9 })).statusCode).toBe(200);
  });
});
