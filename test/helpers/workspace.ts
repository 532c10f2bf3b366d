/** @module test/helpers/workspace
 * Temp workspaces (removed after each file, see ./temp.ts), a silent context for library calls, and reading Parquet back with DuckDB. */
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { pino } from 'pino';
import { silentProgress } from '../../src/core/progress.js';
import { Workspace } from '../../src/core/workspace.js';
import type { FetchContext } from '../../src/sources/types.js';
import { tempDir } from './temp.js';

export const silentLog = pino({ level: 'silent' });

/** A temp folder `/tmp/sp-<prefix>-XXXXXX`, removed after the calling file's tests. */
export async function tempWorkspace(prefix = 'sp-ws-'): Promise<string> {
  return tempDir(prefix);
}

export function fetchContext(workspace: string, over: Partial<FetchContext> = {}): FetchContext {
  return { ws: new Workspace(workspace), log: silentLog, progress: silentProgress, now: () => new Date('2026-01-02T03:04:05Z'), env: {}, homeDir: join(workspace, 'home'), checksum: false, ...over };
}

/** Runs a query against DuckDB and returns JSON rows. */
export async function sql(query: string): Promise<Record<string, unknown>[]> {
  const inst = await DuckDBInstance.create(':memory:');
  const conn = await inst.connect();
  try {
    const r = await conn.runAndReadAll(query);
    return r.getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    inst.closeSync();
  }
}
