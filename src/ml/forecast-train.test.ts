/** The day-ahead model's refusals of a test cut that leaves no test row. */
import { describe, expect, it } from 'vitest';
import { silentProgress } from '../core/progress.js';
import { trainForecastModel, type ForecastTrainParams } from './forecast-train.js';
import { syntheticForecastFrame } from './test-forecast-frame.js';

const P: ForecastTrainParams = { seed: 11, threads: 1, trees: 5, maxDepth: 4, numLeaves: 16, learningRate: 0.1, minDataInLeaf: 20, lambdaL2: 1, baggingFraction: 1, featureFraction: 1, earlyStopping: 8 };

describe('trainForecastModel: an empty test slice', () => {
  // Probed: `train --task forecast --date 2012-03-01 --test-from 2013-01-02` on data up to 2014 hinted a --test-from
  // "on or before the data's last day", which 2013-01-02 was: the rows end at --date.
  it('names the last target day, and --date when the rows end there', async () => {
    const frame = syntheticForecastFrame({ symbols: 2, days: 60, seed: 5, start: '2016-01-04' });
    await expect(trainForecastModel(frame, { ...P, testFrom: '2016-06-01', until: '2016-03-29' }, { progress: silentProgress })).rejects.toMatchObject({
      code: 'SP_ERR_TRAIN_DATA',
      message: "the test slice is empty: no row's target day is on or after 2016-06-01 (the last is 2016-03-30: the rows end at --date 2016-03-29)",
      hint: 'Use a --test-from on or before 2016-03-30, or a later --date (`--test-days N` tests on the last N trading days up to --date).',
    });
    await expect(trainForecastModel(frame, { ...P, testFrom: '2016-06-01' }, { progress: silentProgress })).rejects.toMatchObject({ hint: 'Use an earlier --test-from (on or before 2016-03-30).' });
  });
});
