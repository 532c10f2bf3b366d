import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createStudy, studyTrials } from '../../registry/studies.js';
import { openRegistry } from '../../registry/store.js';
import type { VolumeDataset } from '../dataset.js';
import { syntheticVolumeData } from '../test-volume-data.js';
import { makeSlicesFromDays } from '../train.js';
import { preTestRows } from './data.js';
import { rungPlan } from './halving.js';
import { laneEvaluators } from './lanes.js';
import { DEFAULT_SPACE, sampleTrials } from './space.js';
import { runStudy } from './study.js';

/** `ds` whose feature and target columns throw when a test-slice row (dated on or after `cut`) is read. */
function guarded(ds: VolumeDataset, cut: number): VolumeDataset {
  const guard = <T extends Float64Array>(a: T, name: string): T =>
    new Proxy(a, {
      get(t, k) {
        if (typeof k === 'string' && /^\d+$/.test(k) && ds.day[Number(k)]! >= cut) throw new Error(`test row ${k} of ${name} read`);
        const v = Reflect.get(t, k) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
  return { ...ds, vma: guard(ds.vma, 'vma'), acm: guard(ds.acm, 'acm'), volume: guard(ds.volume, 'volume') };
}

async function tuneOn(ds: VolumeDataset, parallel: number) {
  const dir = await mkdtemp(join(tmpdir(), 'sp-tune-data-'));
  const reg = openRegistry(dir);
  try {
    const data = preTestRows(ds);
    const trials = sampleTrials(DEFAULT_SPACE, 11, 4);
    const rungs = rungPlan(4, 24, 3, 5);
    const study = createStudy(reg, { study_id: 's', name: 's', task: 'volume', metric: 'rmse_log', direction: 'minimize', seed: 11, space: { ...DEFAULT_SPACE }, settings: { rungs }, folds: 2 });
    const lanes = laneEvaluators(data, 2, parallel, parallel);
    try {
      await runStudy({ reg, study, trials, rungs, lanes: lanes.evaluators, seed: 11, threads: lanes.threadsPerLane });
    } finally {
      await lanes.close();
    }
    return { data, rows: studyTrials(reg, 's').map(({ started_at: _s, finished_at: _f, seconds: _x, ...r }) => r) };
  } finally {
    reg.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe('the rows a study tunes on', () => {
  const ds = syntheticVolumeData(12, 400, 3);
  const cut = makeSlicesFromDays(ds.day).testFrom!;

  it('are the pre-test rows only: a study never reads a test-slice row, and tunes as on the whole data', async () => {
    const plain = await tuneOn(ds, 1);
    expect(plain.data.rows).toBe(Array.from(ds.day).filter((d) => d < cut).length);
    expect(Array.from(plain.data.day).every((d) => d < cut)).toBe(true);
    expect(plain.rows.filter((r) => r.state === 'failed')).toEqual([]);
    // The same study with every test row's columns throwing when read.
    const strict = await tuneOn(guarded(ds, cut), 1);
    expect(strict.data.data_hash).toBe(plain.data.data_hash);
    expect(strict.rows).toEqual(plain.rows);
    expect(() => guarded(ds, cut).volume[ds.rows - 1]).toThrow(/test row/);
  }, 60_000);

  it('two lanes in worker threads (threads split) give the study of one lane', async () => {
    const one = await tuneOn(ds, 1);
    const two = await tuneOn(ds, 2);
    expect(two.rows).toEqual(one.rows);
  }, 60_000);
});
