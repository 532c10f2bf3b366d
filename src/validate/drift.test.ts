import { describe, expect, it } from 'vitest';
import { binCounts } from '../monitor/psi.js';
import { createRng } from '../core/rng.js';
import { openDuckDB } from '../db/duckdb.js';
import { periodBinCounts } from '../db/table-stats.js';
import { sql, tempWorkspace } from '../../test/helpers/workspace.js';
import { driftBaseline, normalPsis } from './drift.js';
import { join } from 'node:path';

describe('drift baseline', () => {
  it('thresholds come from month-over-month PSI: max(floor, k × p95)', () => {
    const specs = [{ column: 'x', edges: [5] }];
    const month = (a: number, b: number, period: string) => ({ period, rows: a + b, counts: [Float64Array.from([a, b])] });
    const periods = [month(50, 50, '2020-01'), month(50, 50, '2020-02'), month(40, 60, '2020-03'), month(1, 1, '2020-04'), month(60, 40, '2020-05')];
    // 2020-04 has too few values to count; the normal PSIs are 0, PSI(50/50 → 40/60), PSI(40/60 → 60/40).
    const p1 = 0.1 * Math.log(0.5 / 0.4) + 0.1 * Math.log(0.6 / 0.5);
    const p2 = 0.2 * Math.log(0.6 / 0.4) + 0.2 * Math.log(0.6 / 0.4);
    expect([...normalPsis(periods.map((p) => p.counts[0]!), 10)].map((x) => x.toFixed(12))).toEqual([0, p1, p2].map((x) => x.toFixed(12)));
    const d = driftBaseline(specs, periods, { k: 2, floor: 0.1, minPeriodRows: 10 }).x!;
    expect(d.counts).toEqual([201, 201]);
    expect(d.normal.periods).toBe(3);
    expect(d.normal.p95).toBeCloseTo(p2, 12);
    expect(d.threshold).toBeCloseTo(2 * p2, 12);
    expect(driftBaseline(specs, periods.slice(0, 2), { k: 2, floor: 0.1, minPeriodRows: 10 }).x!.threshold).toBe(0.1);
  });

  it('SQL bin counts equal monitor/psi binCounts (the naive twin) over many seeds, nulls and NaN skipped', async () => {
    const ws = await tempWorkspace('sp-bins-');
    const db = await openDuckDB({ tempDir: join(ws, 'tmp'), memoryLimit: '256MB', threads: 1 });
    try {
      for (let seed = 1; seed <= 12; seed++) {
        const rng = createRng(seed);
        const n = 50 + rng.int(400);
        const xs = Float64Array.from({ length: n }, () => (rng.next() < 0.05 ? Number.NaN : Math.round(rng.normal() * 100) / 10));
        const edges = [...new Set(Array.from({ length: 1 + rng.int(9) }, () => Math.round(rng.normal() * 100) / 10))].sort((a, b) => a - b);
        const path = join(ws, `t${seed}.parquet`);
        const values = [...xs].map((x, i) => `(${Number.isNaN(x) ? "'NaN'::DOUBLE" : x}, '2020-0${1 + (i % 3)}-15')`);
        values.push("(NULL, '2020-01-15')");
        await sql(`COPY (SELECT * FROM (VALUES ${values.join(', ')}) t(x, "Date")) TO '${path}' (FORMAT parquet)`);
        const all = await periodBinCounts(db.connection, path, [{ column: 'x', edges }], null);
        expect(all).toHaveLength(1);
        expect([...all[0]!.counts[0]!]).toEqual([...binCounts(xs, Float64Array.from(edges))]);
        const months = await periodBinCounts(db.connection, path, [{ column: 'x', edges }], { by: 'month', column: 'Date' });
        expect(months.map((m) => m.period)).toEqual(['2020-01', '2020-02', '2020-03']);
        for (const [k, m] of months.entries()) expect([...m.counts[0]!]).toEqual([...binCounts(xs.filter((_, i) => i % 3 === k), Float64Array.from(edges))]);
        const split = await periodBinCounts(db.connection, path, [{ column: 'x', edges }], { by: 'after', column: 'Date', date: '2020-02-15' });
        expect(split.map((m) => m.period)).toEqual(['new', 'old']);
        expect([...split[0]!.counts[0]!]).toEqual([...binCounts(xs.filter((_, i) => i % 3 === 2), Float64Array.from(edges))]);
      }
    } finally {
      db.close();
    }
  });
});
