import { describe, expect, it } from 'vitest';
import { curveLosses, curveMetrics, curvesFromMetrics, parseTrainingLog } from './training-curve.js';

const CV = `# protocol cv: 3 expanding-window folds inside the pre-test dates (before 2011-08-18), up to 100 trees, patience 10
# fold 1: train 2010-02-16..(before 2011-03-09) 4707 rows, validate 2011-03-09..2011-05-02 684 rows; best 2 trees, rmse_log 0.60076288
# fold 1 curve (rmse_log after each tree): 0.601271 0.600763
# fold 2 curve (rmse_log after each tree): 0.659761 0.659288 0.658687
# cv_rmse_log 0.59272953 (mean of the fold minima); refit trees 2 (median of 2, 3)
# refit: gbdt on all 6741 pre-test rows, 2 trees; iteration train_loss
1 0.29578290
2 0.29424764
`;
const FORECAST = `# adj_close: gbdt on 5984 rows, target ln(AdjClose_t+1 / AdjClose_t); iteration train_loss valid_loss (mean squared error on the target)
1 0.00043547999 0.00044107325
2 0.00043391079 0.00044208889
# best iteration 1 of 2; initial train loss 0.00043735123
# volume: gbdt, target log1p(Volume_t+1) - log1p(Volume_t), i.e. boosting from persistence, objective huber; iteration train_loss valid_loss (mean huber loss on the target)
1 0.35222136 0.31085435
# best iteration 1 of 1 on 5984 rows; initial train loss 0.4
# adj_close refit: gbdt on 6620 rows (every pre-test row), 1 trees (the best iteration on the validation window); iteration train_loss
1 0.00043601 -
# volume refit: gbdt on 6620 rows (every pre-test row), 1 trees (the best iteration on the validation window), objective huber; iteration train_loss
1 0.3501 -
`;
const RF = `# rf on 100 rows, target raw; iteration train_loss valid_loss (mean squared error on the target)
1 - -
2 - -
# out-of-bag RMSE 12.5 over 90 rows (target raw)
`;

describe('training curves', () => {
  it('reads the cv folds\' rmse_log curves and the refit\'s train loss', () => {
    const c = parseTrainingLog(CV);
    expect(c.map((x) => [x.key, x.metric, x.steps, x.values])).toEqual([
      ['fold1.valid_rmse_log', 'rmse_log', [1, 2], [0.601271, 0.600763]],
      ['fold2.valid_rmse_log', 'rmse_log', [1, 2, 3], [0.659761, 0.659288, 0.658687]],
      ['refit.train_loss', 'mse', [1, 2], [0.2957829, 0.29424764]],
    ]);
  });

  it('reads both boosters of a day-ahead model and their refits, and nothing from a forest that records no loss', () => {
    expect(parseTrainingLog(FORECAST).map((x) => [x.key, x.steps.length])).toEqual([['adj_close.train_loss', 2], ['adj_close.valid_loss', 2], ['volume.train_loss', 1], ['volume.valid_loss', 1], ['adj_close_refit.train_loss', 1], ['volume_refit.train_loss', 1]]);
    // The loss each part's values are: l2's squared error, or the objective's (the volume booster's huber).
    expect(parseTrainingLog(FORECAST).map((x) => [x.key, x.metric])).toEqual([['adj_close.train_loss', 'mse'], ['adj_close.valid_loss', 'mse'], ['volume.train_loss', 'huber'], ['volume.valid_loss', 'huber'], ['adj_close_refit.train_loss', 'mse'], ['volume_refit.train_loss', 'huber']]);
    expect(Object.fromEntries(curveLosses(parseTrainingLog(FORECAST)))).toEqual({ adj_close: 'mse', volume: 'huber', adj_close_refit: 'mse', volume_refit: 'huber' });
    expect(parseTrainingLog(RF)).toEqual([]);
    expect(parseTrainingLog('')).toEqual([]);
  });

  it('round-trips through the registry\'s step metrics (the loss, which they do not record, from training.log)', () => {
    const c = [...parseTrainingLog(CV), ...parseTrainingLog(FORECAST)];
    const m = curveMetrics(c);
    expect(m[0]).toEqual({ key: 'curve.fold1.valid_rmse_log', value: 0.601271, step: 1, slice: 'curve' });
    const back = curvesFromMetrics(m.map((x) => ({ key: x.key, step: x.step ?? 0, value: x.value })));
    const losses = curveLosses(parseTrainingLog(FORECAST));
    expect(back.map((x) => (x.metric === 'rmse_log' ? x : { ...x, metric: losses.get(x.part) ?? x.metric }))).toEqual(c);
  });

  it('reads the section line a holdout volume booster writes with another objective', () => {
    const log = '# gbdt on 100 rows, target log1p(Volume) - log1p(vol_moving_avg), i.e. boosting from the naive forecast; iteration train_loss valid_loss (mean huber loss on the target)\n1 0.5 0.6\n';
    expect(parseTrainingLog(log).map((x) => [x.key, x.metric])).toEqual([['train.train_loss', 'huber'], ['train.valid_loss', 'huber']]);
  });
});
