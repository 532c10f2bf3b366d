/** @module pipeline/task-data.test
 * The typed readers of task summaries: a field an upstream result lacks is SP_ERR_PIPELINE_INPUT,
 * row counts read as null when absent, and (checked by `tsc -p tsconfig.check.json`) a reader cannot
 * name a field its producer's data type does not have, or read it as another type. */
import { describe, expect, it } from 'vitest';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import type { TrainData } from '../ml/train-volume.js';
import { dataOf, EVALUATE, FEATURES, FETCH, MONITOR, TRAIN } from './task-data.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return err instanceof StockpipeError ? err.code : String(err);
  }
};

describe('need: a field an upstream result must have', () => {
  it.each([
    ['present', { model_id: 'gbdt-1' }, 'ok'],
    ['no upstream result', undefined, 'SP_ERR_PIPELINE_INPUT'],
    ['field absent', { kind: 'gbdt' }, 'SP_ERR_PIPELINE_INPUT'],
    ['field of another type', { model_id: 7 }, 'SP_ERR_PIPELINE_INPUT'],
  ])('%s → %s', (_name, summary, want) => {
    expect(codeOf(() => TRAIN.need(summary, 'model_id', 'evaluate'))).toBe(want);
  });

  it('returns the value', () => {
    expect(FETCH.need({ source: 'synthetic', manifest: '/w/raw/synthetic/manifest.json', cached: false }, 'manifest', 'ingest')).toBe('/w/raw/synthetic/manifest.json');
  });
});

describe('read: all the fields, or null', () => {
  it.each([
    ['evaluate test rows', () => EVALUATE.read({ test: { date_min: 'a', date_max: 'b', rows: 12 } })?.test.rows ?? null, 12],
    ['evaluate without test', () => EVALUATE.read({ model_id: 'x' })?.test.rows ?? null, null],
    ['features rows_with_features', () => FEATURES.read({ rows: 10, rows_with_features: 8 })?.rows_with_features, 8],
    ['features without rows_with_features', () => FEATURES.read({ rows: 10 })?.rows_with_features ?? null, null],
    ['monitor retrain_needed', () => MONITOR.read({ matured: 1, scored: 1, retrain_needed: true, models: [{ window: { to: null } }], drift: [] })?.retrain_needed, true],
    ['monitor without models', () => MONITOR.read({ matured: 1, scored: 1, retrain_needed: true, drift: [] }), null],
    ['no result', () => TRAIN.read(undefined), null],
  ])('%s', (_name, got, want) => {
    expect(got()).toEqual(want);
  });
});

describe('a reader follows its producer type', () => {
  it('compiles only for fields TrainData has, with its types', () => {
    const read = dataOf<TrainData>();
    // @ts-expect-error a field TrainData does not have
    read({ modelid: z.string() });
    // @ts-expect-error model_id is a string in TrainData
    read({ model_id: z.number() });
    // @ts-expect-error a nested field TrainData's test slice does not have
    read({ test: z.object({ n_rows: z.number() }) });
    expect(read({ model_id: z.string(), test: z.object({ rows: z.number() }) }).read({ model_id: 'm', test: { rows: 3 } })).toEqual({ model_id: 'm', test: { rows: 3 } });
  });
});
