/** @module ml/tune/data
 * The rows a study tunes on: the volume dataset's rows dated before the test cut, copied out, so the
 * evaluators never hold a test row (docs/tuning.md: the test slice is read once, for the report). */
import { StockpipeError } from '../../core/errors.js';
import { civilFromDays } from '../../etl/csv-parse.js';
import { hashArrays, type VolumeDataset } from '../dataset.js';
import { makeSlicesFromDays } from '../train.js';
import type { CvData } from './evaluate.js';

export interface PreTestData extends CvData {
  /** First test day (YYYY-MM-DD): rows on or after it were left out. */
  test_from: string;
  rows: number;
  /** sha256 of the pre-test arrays: a resumed study checks it tunes on the same rows. */
  data_hash: string;
}

/** The rows of `ds` dated before its time split's test cut (`testFrom`, or the 80th percentile of the dates). */
export function preTestRows(ds: VolumeDataset, testFrom?: string): PreTestData {
  const s = makeSlicesFromDays(ds.day, testFrom);
  const cut = s.testFrom!;
  let n = 0;
  for (let i = 0; i < ds.rows; i++) if (ds.day[i]! < cut) n++;
  if (n === 0) throw new StockpipeError('SP_ERR_TRAIN_DATA', `no rows before the test slice (test from ${civilFromDays(cut)})`, { hint: 'Use a later --test-from or fewer --test-days, or more history.' });
  if (n === ds.rows) throw new StockpipeError('SP_ERR_TRAIN_DATA', `the test slice is empty: no row is dated on or after ${civilFromDays(cut)}`, { hint: 'Use an earlier --test-from (on or before the data\'s last day): the study\'s test slice is the one `train --params-from` reports on.' });
  const out = { day: new Int32Array(n), vma: new Float64Array(n), acm: new Float64Array(n), volume: new Float64Array(n) };
  let k = 0;
  // Only the day column is read for every row; the others only for rows before the cut.
  for (let i = 0; i < ds.rows; i++) {
    if (ds.day[i]! >= cut) continue;
    out.day[k] = ds.day[i]!;
    out.vma[k] = ds.vma[i]!;
    out.acm[k] = ds.acm[i]!;
    out.volume[k] = ds.volume[i]!;
    k++;
  }
  return { ...out, cut, test_from: civilFromDays(cut), rows: n, data_hash: hashArrays([out.day, out.vma, out.acm, out.volume]) };
}
