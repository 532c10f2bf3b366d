/** @module cli/dataset
 * Loads the model rows from the workspace's features table — the volume model's (train, evaluate)
 * and the day-ahead model's (train --task forecast, champion re-scoring); DuckDB is open only while
 * reading. */
import { join } from 'node:path';
import { openDuckDB } from '../db/duckdb.js';
import { featuresPath } from '../features/build.js';
import { loadVolumeDataset, type VolumeDataset } from '../ml/dataset.js';
import { loadForecastFrame, type ForecastFrame } from '../ml/forecast-dataset.js';
import type { CommandContext } from './context.js';

export async function loadWorkspaceDataset(ctx: CommandContext): Promise<VolumeDataset> {
  const db = await openDuckDB({ tempDir: join(ctx.workspace, 'tmp', 'duckdb'), memoryLimit: ctx.config.memory_limit, threads: Math.max(1, ctx.config.threads) });
  try {
    return await loadVolumeDataset(db.connection, featuresPath(ctx.workspace));
  } finally {
    db.close();
  }
}

export async function loadWorkspaceForecastFrame(ctx: CommandContext): Promise<ForecastFrame> {
  const db = await openDuckDB({ tempDir: join(ctx.workspace, 'tmp', 'duckdb'), memoryLimit: ctx.config.memory_limit, threads: Math.max(1, ctx.config.threads) });
  try {
    return await loadForecastFrame(db.connection, featuresPath(ctx.workspace));
  } finally {
    db.close();
  }
}
