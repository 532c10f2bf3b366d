import { describe, expect, it } from 'vitest';
import { StockpipeError } from '../../core/errors.js';
import { trialJobId } from './queued.js';
import { parseTrialJob } from './trial-job.js';

describe('a queued trial\'s job id', () => {
  it('is <study>.<trial>.<rung> and reads back; anything else is SP_ERR_USAGE', () => {
    const k = { study_id: 'study-20261203131157-deeef6', number: 12, rung: 2 };
    expect(trialJobId(k)).toBe('study-20261203131157-deeef6.12.2');
    expect(parseTrialJob(trialJobId(k))).toEqual(k);
    for (const bad of ['nope', 'study-1.x.0', 'study-1.1', 'a.b.1.2', 'study 1.1.0', '']) {
      expect(() => parseTrialJob(bad), bad).toThrow(StockpipeError);
      try {
        parseTrialJob(bad);
      } catch (err) {
        expect((err as StockpipeError).code).toBe('SP_ERR_USAGE');
      }
    }
  });
});
