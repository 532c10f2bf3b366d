/** The hints of train's "no training rows" error: a study's cut (--params-from) is not the user's to move with --test-from, which is refused beside it. */
import { describe, expect, it } from 'vitest';
import { civilFromDays } from '../core/calendar.js';
import { StockpipeError } from '../core/errors.js';
import { silentProgress } from '../core/progress.js';
import { syntheticVolumeData } from './test-volume-data.js';
import { STUDY_CUT_HINT, trainVolumeModel, type TrainParams } from './train.js';

describe('train with no row before the test cut', () => {
  it('sends a --params-from training to a new study, not to --test-from (refused with --params-from); a plain one to --test-from', async () => {
    const ds = syntheticVolumeData(2, 60);
    const first = civilFromDays(Math.min(...ds.day));
    const p: TrainParams = { kind: 'gbdt', split: 'time', seed: 42, threads: 1, trees: 5, maxDepth: 3, numLeaves: 7, learningRate: 0.2, minDataInLeaf: 5, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 5, testFrom: first };
    const plain = await trainVolumeModel(ds, p, { progress: silentProgress }).catch((e: unknown) => e);
    expect([(plain as StockpipeError).code, (plain as StockpipeError).hint]).toEqual(['SP_ERR_TRAIN_DATA', 'Use a later --test-from or fewer --test-days, or more history.']);
    const fromStudy = await trainVolumeModel(ds, { ...p, fit: () => Promise.reject(new Error('not reached')) }, { progress: silentProgress }).catch((e: unknown) => e);
    expect([(fromStudy as StockpipeError).code, (fromStudy as StockpipeError).hint]).toEqual(['SP_ERR_TRAIN_DATA', STUDY_CUT_HINT]);
    expect(STUDY_CUT_HINT).not.toMatch(/--test-from/);
  });
});
