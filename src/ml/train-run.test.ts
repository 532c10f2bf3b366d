/** ml/train-run procedureHash: what makes two training requests the same procedure (registry/compare
 * sameProcedureOnNewerData promotes a retrain by the holder's procedure on newer data). */
import { describe, expect, it } from 'vitest';
import { procedureHash } from './train-run.js';

const REQUEST = { seed: 42, threads: 2, trees: 1000, learningRate: 0.1, protocol: 'cv', testFrom: '2020-01-02', until: '2023-04-14', promoteIfBetter: true };

describe('procedureHash', () => {
  it('ignores what chooses the data or the machine: the test cut, the logical date, the snapshot, threads (at any depth), promotion, a study object', () => {
    const a = procedureHash('forecast', ['x', 'y'], REQUEST);
    expect(procedureHash('forecast', ['x', 'y'], { ...REQUEST, threads: 1, testFrom: undefined, until: '2023-05-01', asOf: '7', promoteIfBetter: false })).toBe(a);
    const study = { seed: 42, volume: { params: { learning_rate: 0.3, threads: 2 }, windowDays: 900 } };
    expect(procedureHash('forecast', ['x'], { ...study, study: { test_from: '2020-01-02' }, fit: () => 0 })).toBe(procedureHash('forecast', ['x'], { ...study, volume: { ...study.volume, params: { ...study.volume.params, threads: 1 } } }));
  });

  it('a study is its choice, not its name: two studies of one name differ, a study named by id or by name does not', () => {
    const choice = (study_id: string, learning_rate: number) => ({ study_id, trial: 3, params: { learning_rate }, trees: 40 });
    expect(procedureHash('gbdt', ['x'], { ...REQUEST, paramsFrom: 'nightly', choice: choice('study-1', 0.1) })).not.toBe(procedureHash('gbdt', ['x'], { ...REQUEST, paramsFrom: 'nightly', choice: choice('study-2', 0.02) }));
    expect(procedureHash('gbdt', ['x'], { ...REQUEST, paramsFrom: 'nightly', choice: choice('study-1', 0.1) })).toBe(procedureHash('gbdt', ['x'], { ...REQUEST, paramsFrom: 'study-1', choice: choice('study-1', 0.1) }));
  });

  it('changes with anything that changes how the model is fitted: a setting, the seed, the inputs, the kind, a study window', () => {
    const a = procedureHash('forecast', ['x', 'y'], REQUEST);
    for (const other of [
      procedureHash('forecast', ['x', 'y'], { ...REQUEST, learningRate: 0.3 }),
      procedureHash('forecast', ['x', 'y'], { ...REQUEST, seed: 7 }),
      procedureHash('forecast', ['x', 'y'], { ...REQUEST, protocol: 'holdout' }),
      procedureHash('forecast', ['x'], REQUEST),
      procedureHash('gbdt', ['x', 'y'], REQUEST),
      procedureHash('forecast', ['x', 'y'], { ...REQUEST, volume: { windowDays: 900 } }),
    ]) expect(other).not.toBe(a);
  });
});
