/** @module cli/challenger
 * Champion / challenger on new data: when the alias holder was tested on another slice than the
 * candidate (the data grew since), the holder is re-scored on the candidate's test rows, so
 * promote-if-better compares the two on the same rows instead of refusing. Used by `train
 * --promote-if-better` (both tasks) and the pipelines' register step. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { VolumeDataset } from '../ml/dataset.js';
import type { ForecastFrame } from '../ml/forecast-dataset.js';
import { forecastFromJSON } from '../ml/forecast-model.js';
import { scoreForecastOnTestSlice } from '../ml/forecast-train.js';
import { regressionMetrics } from '../ml/metrics/regression.js';
import { makeSlices } from '../ml/train.js';
import { predictRows, scorerFromJSON } from '../ml/volume-model.js';
import { sameTestSlice } from '../registry/compare.js';
import { defaultPromoteMetric, type PromoteOptions } from '../registry/promote.js';
import type { Registry } from '../registry/store.js';
import type { PromoteDecision } from '../registry/types.js';
import type { CommandContext } from './context.js';
import { loadWorkspaceDataset, loadWorkspaceForecastFrame } from './dataset.js';

interface RecordedSplit { split: { kind: 'time' | 'random'; test_from: string | null } }

/**
 * The holder's promotion metric on the candidate's test slice, or undefined when no re-scoring is
 * needed (no holder, same slice) or possible (a volume model against a forecast model).
 */
export async function rescoreHolder(ctx: CommandContext, reg: Registry, candidateId: string, alias: string, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): Promise<PromoteOptions['holderOnCandidateSlice']> {
  const holderId = reg.aliasTarget(alias);
  if (holderId === null || holderId === candidateId) return undefined;
  const cand = reg.getModel(candidateId);
  const holder = reg.getModel(holderId);
  if (sameTestSlice(cand.test_slice, holder.test_slice)) return undefined;
  if ((cand.kind === 'forecast') !== (holder.kind === 'forecast')) return undefined; // different tasks: refused as not comparable
  const metric = defaultPromoteMetric(cand.kind);
  const { split } = JSON.parse(await readFile(join(cand.path, 'metrics.json'), 'utf8')) as RecordedSplit;
  const holderJson = await readFile(join(holder.path, 'model.json'), 'utf8');
  if (cand.kind === 'forecast') {
    const m = scoreForecastOnTestSlice(forecastFromJSON(holderJson, join(holder.path, 'model.json')), loaded.frame ?? (await loadWorkspaceForecastFrame(ctx)), split.test_from).metrics.forecast!;
    const value = m[metric];
    return value === undefined || Number.isNaN(value) ? undefined : { model_id: holderId, value };
  }
  const ds = loaded.ds ?? (await loadWorkspaceDataset(ctx));
  const s = makeSlices(ds, split.kind, split.test_from ?? undefined);
  const y = Float64Array.from(s.test, (i) => ds.volume[i]!);
  const m = regressionMetrics(y, predictRows(scorerFromJSON(holderJson, join(holder.path, 'model.json')), ds.vma, ds.acm, s.test)) as unknown as Record<string, number>;
  const value = m[metric];
  return value === undefined || Number.isNaN(value) ? undefined : { model_id: holderId, value };
}

/** promote-if-better with the holder re-scored on the candidate's slice when their slices differ. */
export async function promoteChallenger(ctx: CommandContext, reg: Registry, candidateId: string, alias: string, opts: PromoteOptions & { loaded?: { ds?: VolumeDataset; frame?: ForecastFrame } } = {}): Promise<PromoteDecision> {
  const { loaded, ...rest } = opts;
  const holderOnCandidateSlice = await rescoreHolder(ctx, reg, candidateId, alias, loaded);
  return reg.promoteIfBetter(candidateId, alias, { ...rest, holderOnCandidateSlice });
}
