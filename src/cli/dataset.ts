/** @module cli/dataset
 * Loads the volume model's rows from the workspace's features table (shared by train and
 * evaluate); DuckDB is open only while reading. */
import { join } from 'node:path';
import { openDuckDB } from '../db/duckdb.js';
import { featuresPath } from '../features/build.js';
import { loadVolumeDataset, type VolumeDataset } from '../ml/dataset.js';
import type { CommandContext } from './context.js';

export async function loadWorkspaceDataset(ctx: CommandContext): Promise<VolumeDataset> {
  const db = await openDuckDB({ tempDir: join(ctx.workspace, 'tmp', 'duckdb'), memoryLimit: ctx.config.memory_limit, threads: Math.max(1, ctx.config.threads) });
  try {
    return await loadVolumeDataset(db.connection, featuresPath(ctx.workspace));
  } finally {
    db.close();
  }
}
