import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../core/workspace.js';
import { type BarsBatch, writeBarsParquet } from '../db/bars-writer.js';
import { openDuckDB } from '../db/duckdb.js';
import { civilFromDays, daysFromCivil } from '../core/calendar.js';
import { silentLog, tempWorkspace } from '../../test/helpers/workspace.js';
import { extraColumns, FEATURES_VERSION, kvMetadata } from './build.js';
import { FeaturePreparation, preparedDir } from './prepare.js';


/** One symbol's rows, days from 2020-01-02 on. */
function batch(sym: number, rows: number): BarsBatch {
  const d0 = daysFromCivil(2020, 1, 2);
  const f = (k: number): Float64Array => Float64Array.from({ length: rows }, (_, i) => k + i);
  return { sym, name: undefined, rows, day: Int32Array.from({ length: rows }, (_, i) => d0 + i), open: f(1), high: f(2), low: f(0.5), close: f(1), adjClose: f(1), volume: f(100), asset: new Uint8Array(rows).fill(1) };
}

describe('FeaturePreparation', () => {
  it('deletes the files it staged as soon as a stage file cannot be written (on a full disk they hold the prices files\' room)', async () => {
    const ws = new Workspace(await tempWorkspace(), { threads: 1, memoryLimit: '256MB' });
    const settings = { version: FEATURES_VERSION, window: 3, extended: false };
    const db = await openDuckDB(ws.duckdbSettings());
    try {
      const spec = { symbols: ['AAA', 'BBB'], names: [], dayMin: daysFromCivil(2020, 1, 1), dayMax: daysFromCivil(2020, 12, 31), formatDay: civilFromDays };
      const prep = await FeaturePreparation.begin(ws, settings, 1, { extra: extraColumns(settings), kv: kvMetadata(settings), ctx: 3, log: silentLog });
      const pricesFile = join(ws.tmpDir, 'prices-a.parquet');
      const a = [batch(0, 10)];
      let i = 0;
      const range = await writeBarsParquet(db.connection, { ...spec, lineage: 1, kvMetadata: {} }, () => a[i++] ?? null, pricesFile);
      await prep.file(db.connection, 0, a, { path: pricesFile, range }, spec);
      expect((await readdir(preparedDir(ws))).filter((n) => n.startsWith('bucket='))).toHaveLength(1);
      // The next one fails (its prices file is not there to join).
      await prep.file(db.connection, 1, [batch(1, 10)], { path: join(ws.tmpDir, 'missing.parquet'), range }, spec);
      expect(prep.active).toBe(false);
      expect(await stat(preparedDir(ws)).then(() => true, () => false)).toBe(false);
    } finally {
      db.close();
    }
  });
});
