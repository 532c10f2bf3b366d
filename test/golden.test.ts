/** Conformance with pandas' own output on the real Kaggle sample (../shared/data). Skipped, with
 * the reason printed, where ../shared is absent (a fresh clone without the shared folder). */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { silentProgress } from '../src/core/progress.js';
import { ingest } from '../src/etl/ingest.js';
import { buildFeatures } from '../src/features/build.js';
import { dirSource } from '../src/sources/dir.js';
import { fetchContext, silentLog, sql, tempWorkspace } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { viewSource } from './helpers/store.js';

const SHARED = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'shared', 'data');
const SAMPLE = join(SHARED, 'kaggle-sample');
const GOLDEN = join(SHARED, 'golden', 'features_sample.csv.gz');
const present = existsSync(SAMPLE) && existsSync(GOLDEN);
if (!present) console.log(`SKIP golden conformance: ${SHARED} is absent (it sits beside the repo in CI, not in a fresh clone)`);

describe.skipIf(!present)('real Kaggle sample vs pandas golden output (docs/data.md)', () => {
  it('every row equals pandas rolling(30) mean/median to 1e-9 relative, nulls in the same places', async () => {
    const ws = await tempWorkspace();
    const { manifest } = await dirSource(SAMPLE).fetch(fetchContext(ws, { checksum: true }));
    const rep = await ingest({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), manifest, strict: false, force: false, log: silentLog, progress: silentProgress });
    // The manifest counted every data line; the report must account for each one.
    const lines = manifest.files.filter((f) => f.path.endsWith('.csv') && f.path !== 'symbols_valid_meta.csv').reduce((s, f) => s + (f.rows ?? 0), 0);
    expect(rep.rows_read).toBe(lines);
    expect(rep.rows_read).toBe(rep.rows_kept + Object.values(rep.rows_dropped).reduce((s, n) => s + n, 0));
    expect(rep.rows_dropped.null_values).toBe(3); // the empty 2001-09-12-style rows of BEP, CMA, DVN
    expect(rep.files).toBe(27);
    expect(rep.symbols_without_metadata).toBeGreaterThan(0);
    await buildFeatures({ ws: new Workspace(ws, { threads: 2, memoryLimit: '512MB' }), window: 30, force: false, log: silentLog, progress: silentProgress });
    const f = viewSource(ws, 'features');
    const [r] = await sql(`
      WITH g AS (SELECT * FROM read_csv('${GOLDEN}', all_varchar = true)),
           f AS (SELECT * FROM ${f})
      SELECT (SELECT count(*) FROM g) AS golden_rows, (SELECT count(*) FROM f) AS our_rows, count(*) AS joined,
        count(*) FILTER (WHERE (g.vol_moving_avg IS NULL) <> (f.vol_moving_avg IS NULL)) AS null_v,
        count(*) FILTER (WHERE (g.adj_close_rolling_med IS NULL) <> (f.adj_close_rolling_med IS NULL)) AS null_m,
        coalesce(max(abs(g.vol_moving_avg::DOUBLE - f.vol_moving_avg) / abs(g.vol_moving_avg::DOUBLE)), 0) AS rel_v,
        coalesce(max(abs(g.adj_close_rolling_med::DOUBLE - f.adj_close_rolling_med) / nullif(abs(g.adj_close_rolling_med::DOUBLE), 0)), 0) AS rel_m,
        count(*) FILTER (WHERE g."Volume"::BIGINT <> f."Volume") AS volume_diff
      FROM g JOIN f ON g."Symbol" = f."Symbol" AND g."Date" = f."Date"`);
    expect(Number(r!.golden_rows)).toBe(163406);
    expect(Number(r!.our_rows)).toBe(163406);
    expect(Number(r!.joined)).toBe(163406);
    expect(Number(r!.null_v)).toBe(0);
    expect(Number(r!.null_m)).toBe(0);
    expect(Number(r!.volume_diff)).toBe(0);
    expect(r!.rel_v as number).toBeLessThanOrEqual(1e-9);
    expect(r!.rel_m as number).toBeLessThanOrEqual(1e-9);
  });
});
