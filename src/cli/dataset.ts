/** @module cli/dataset
 * Loads the model rows from the workspace's features table — the volume model's (train, evaluate)
 * and the day-ahead model's (train --task forecast) — with the workspace's DuckDB threads and memory
 * limit; the loading itself lives in ml/rescore.ts (shared with champion re-scoring). */
import type { VolumeDataset } from '../ml/dataset.js';
import type { ForecastFrame } from '../ml/forecast-dataset.js';
import { holderRescorer, loadWorkspaceForecastData, loadWorkspaceVolumeData, workspaceData } from '../ml/rescore.js';
import type { HolderRescorer } from '../registry/promote.js';
import type { CommandContext } from './context.js';

export function loadWorkspaceDataset(ctx: CommandContext): Promise<VolumeDataset> {
  return loadWorkspaceVolumeData(ctx.ws);
}

export function loadWorkspaceForecastFrame(ctx: CommandContext): Promise<ForecastFrame> {
  return loadWorkspaceForecastData(ctx.ws);
}

/** registry/promote's re-scorer over this workspace (reusing data the command loaded already). */
export function workspaceRescorer(ctx: CommandContext, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): HolderRescorer {
  return holderRescorer(workspaceData(ctx.ws, loaded));
}
