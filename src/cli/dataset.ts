/** @module cli/dataset
 * Loads the model rows from the workspace's features table — the volume model's (train, evaluate)
 * and the day-ahead model's (train --task forecast) — with the config's DuckDB threads and memory
 * limit; the loading itself lives in ml/rescore.ts (shared with champion re-scoring). */
import type { VolumeDataset } from '../ml/dataset.js';
import type { ForecastFrame } from '../ml/forecast-dataset.js';
import { holderRescorer, loadWorkspaceForecastData, loadWorkspaceVolumeData, workspaceData, type WorkspaceDataOptions } from '../ml/rescore.js';
import type { HolderRescorer } from '../registry/promote.js';
import type { CommandContext } from './context.js';

const duckOptions = (ctx: CommandContext): WorkspaceDataOptions => ({ memoryLimit: ctx.config.memory_limit, threads: ctx.config.threads });

export function loadWorkspaceDataset(ctx: CommandContext): Promise<VolumeDataset> {
  return loadWorkspaceVolumeData(ctx.workspace, duckOptions(ctx));
}

export function loadWorkspaceForecastFrame(ctx: CommandContext): Promise<ForecastFrame> {
  return loadWorkspaceForecastData(ctx.workspace, duckOptions(ctx));
}

/** registry/promote's re-scorer over this workspace (reusing data the command loaded already). */
export function workspaceRescorer(ctx: CommandContext, loaded: { ds?: VolumeDataset; frame?: ForecastFrame } = {}): HolderRescorer {
  return holderRescorer(workspaceData(ctx.workspace, duckOptions(ctx), loaded));
}
