import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StockpipeError } from '../src/core/errors.js';
import { silentProgress } from '../src/core/progress.js';
import { ingest, type IngestReport } from '../src/etl/ingest.js';
import { dirSource } from '../src/sources/dir.js';
import type { Manifest } from '../src/sources/types.js';
import { HEADER, RANGE_CASES, caseRow } from './fixtures/number-cases.js';
import { fetchContext, silentLog, sql } from './helpers/workspace.js';
import { Workspace } from '../src/core/workspace.js';
import { viewSource } from './helpers/store.js';

/** Case k lives in stocks/Ck.csv: a good line 2, the case on line 3, a good line 4. */
const symbol = (k: number): string => `C${String(k).padStart(3, '0')}`;
const fileOf = (k: number): string => `stocks/${symbol(k)}.csv`;
const CASE_LINE = 3;

describe('ingest: numeric range cases in the report and with --strict (issue 12)', () => {
  let base = '';
  let ws = '';
  let manifest: Manifest;
  let report: IngestReport;
  const run = (m: Manifest, strict: boolean): Promise<IngestReport> =>
    ingest({ ws: new Workspace(ws, { threads: 0, memoryLimit: '256MB' }), manifest: m, strict, force: true, log: silentLog, progress: silentProgress });

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'sp-ranges-'));
    ws = join(base, 'ws');
    await mkdir(join(base, 'data', 'stocks'), { recursive: true });
    for (const [k, [column, text]] of RANGE_CASES.entries()) {
      await writeFile(join(base, 'data', fileOf(k)), `${HEADER}${caseRow(column, '1', '2020-01-01')}${caseRow(column, text)}${caseRow(column, '1', '2020-01-03')}`);
    }
    manifest = (await dirSource(join(base, 'data')).fetch(fetchContext(ws))).manifest;
    report = await run(manifest, false);
  });

  afterAll(async () => {
    if (base !== '') await rm(base, { recursive: true, force: true });
  });

  const label = (k: number): string => {
    const [column, text, e] = RANGE_CASES[k]!;
    const t = text.length > 24 ? `${text.slice(0, 12)}…(${text.length} chars)` : JSON.stringify(text);
    return `${column} ${t} → ${e === 'null' ? 'null' : 'keep' in e ? `keep ${String(e.keep)}` : e.reason}`;
  };
  const cases = RANGE_CASES.map((_, k) => [label(k), k] as const);

  it.each(cases)('report: %s', async (_, k) => {
    const [column, , expected] = RANGE_CASES[k]!;
    const issue = report.malformed.find((m) => m.path === fileOf(k));
    if (expected === 'null' || 'keep' in expected) expect(issue).toBeUndefined();
    else expect(issue && [issue.line, issue.reason]).toEqual([CASE_LINE, `${column} ${expected.reason}`]);
    const kept = await sql(`SELECT count(*) AS n FROM ${viewSource(ws, 'prices')} WHERE "Symbol" = '${symbol(k)}'`);
    expect(Number(kept[0]!.n)).toBe(expected !== 'null' && 'keep' in expected ? 3 : 2);
  });

  it('report: counts the null and malformed cases under the stable reason keys', () => {
    expect(report.rows_dropped.null_values).toBe(RANGE_CASES.filter(([, , e]) => e === 'null').length);
    expect(report.rows_dropped.malformed).toBe(RANGE_CASES.filter(([, , e]) => e !== 'null' && 'reason' in e).length);
    expect(report.malformed_total).toBe(report.rows_dropped.malformed);
  });

  it('table: keeps the exact values of the kept cases (int64 volumes to the last digit)', async () => {
    const rows = await sql(`SELECT "Symbol", "Open", "High", "Low", "Close", "Adj Close", "Volume"::VARCHAR AS v FROM ${viewSource(ws, 'prices')} WHERE "Date" = '2020-01-02'`);
    const bySymbol = new Map(rows.map((r) => [r.Symbol as string, r]));
    for (const [k, [column, text, e]] of RANGE_CASES.entries()) {
      if (e === 'null' || !('keep' in e)) continue;
      const r = bySymbol.get(symbol(k));
      if (column === 'Volume') expect(r?.v, text).toBe(String(e.keep));
      // + 0: DuckDB's Parquet dictionary holds one of -0 and 0 per column chunk (so -0 may read back as 0 and 0 as -0).
      else expect((r?.[column] as number) + 0, `${column} ${text}`).toBe((e.keep as number) + 0);
    }
  });

  const malformed = cases.filter(([, k]) => {
    const e = RANGE_CASES[k]![2];
    return e !== 'null' && 'reason' in e;
  });
  it.each(malformed)('--strict: %s fails with SP_ERR_INPUT_MALFORMED', async (_, k) => {
    const err = await run({ ...manifest, files: manifest.files.filter((f) => f.path === fileOf(k)) }, true).catch((e: unknown) => e);
    expect((err as StockpipeError).code).toBe('SP_ERR_INPUT_MALFORMED');
    expect((err as StockpipeError).message).toContain(`${fileOf(k)}:${CASE_LINE}`);
  });

  it('--strict: the kept and null cases all pass', async () => {
    const ok = manifest.files.filter((f) => {
      const e = RANGE_CASES[Number(f.path.slice(8, 11))]?.[2];
      return e !== undefined && (e === 'null' || 'keep' in e);
    });
    const r = await run({ ...manifest, files: ok }, true);
    expect(r.files).toBe(ok.length);
    expect(r.rows_dropped.malformed).toBe(0);
  });
});
