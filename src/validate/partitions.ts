/** @module validate/partitions
 * Partitioned validate for the bullmq executor (docs/scale-out.md): the whole-table passes of an
 * incremental check — rows per date, per-symbol groups (repeated dates, closed-day rows), drift bin
 * counts — computed per group of symbol buckets (`validate --plan … --buckets … --stage DIR`) and
 * added up by the coordinator's commit (`validate --commit-stage COMMIT.json`), which runs the
 * checks of the new rows and writes the report through validate/validate, the same code and the
 * same report as a local run. A first check, a new reference or a full re-check is one job. */
import { mkdir, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { z } from '../core/zod.js';
import { StockpipeError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB } from '../db/duckdb.js';
import { type DateGroup, dateCounts, duplicateRows, parquetColumns, type PeriodBins, periodBinCounts, type SymbolGroup, symbolGroups } from '../db/table-stats.js';
import { readJsonFile, statOrNull, writeFileAtomic } from '../core/fs.js';
import { BUCKETS, bucketOfPartition, LINEAGE_COLUMN } from '../store/partition.js';
import { parquetSource, readTable } from '../store/read.js';
import { scanDates } from './calendar-gaps.js';
import { readCurrentReference, readReference, type TableName } from './reference.js';
import { driftSpecs, incrementalBase, referenceOfOtherSource, type WholeStats } from './validate.js';
import { type ValidateData, validateWorkspace, type ValidateWorkspaceOptions, workspaceSource } from './workspace.js';

export const ValidatePlanSchema = z
  .object({
    version: z.literal(1),
    table: z.enum(['prices', 'features']),
    /** The table's current snapshot, the one the last report checked (only rows newer than it are checked), the reference. */
    snapshot: z.number().int().min(1),
    since: z.number().int().min(1),
    reference: z.string().refine(isAbsolute),
    reference_version: z.number().int().min(1),
    /** Buckets holding files of the snapshot (each in one partition). */
    buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)),
  })
  .strict();
export type ValidatePlan = z.infer<typeof ValidatePlanSchema>;

/** An incremental check against the workspace's reference as partitions, or null when validate must run whole (no reference yet, one of another source, no earlier report of this table, an overwrite since). */
export async function planValidatePartitions(ws: Workspace, table: TableName): Promise<ValidatePlan | null> {
  const refPath = ws.currentReference(table);
  if ((await statOrNull(refPath)) === null) return null;
  const ref = await readCurrentReference(ws, table);
  if (referenceOfOtherSource(ref, await workspaceSource(ws))) return null;
  const t = readTable(ws, table, undefined, { missingCode: 'SP_ERR_VALIDATE_INPUT' });
  const since = await incrementalBase({ ws, table }, t.snapshot.id, ref);
  if (since === null) return null;
  const buckets = [...new Set(t.files.map((f) => bucketOfPartition(f.partition)).filter((b): b is number => b !== null))].sort((a, b) => a - b);
  if (t.files.some((f) => bucketOfPartition(f.partition) === null)) return null; // a file outside the buckets: check it whole
  return { version: 1, table, snapshot: t.snapshot.id, since, reference: refPath, reference_version: ref.version, buckets };
}

/** DIR/_partial.json: one partition's whole-table passes (PeriodBins counts as plain arrays). */
const PARTIAL = '_partial.json';
const PartialSchema = z
  .object({
    version: z.literal(1),
    snapshot: z.number().int(),
    reference_version: z.number().int(),
    buckets: z.array(z.number().int().min(0).max(BUCKETS - 1)),
    dates: z.array(z.object({ date: z.string(), rows: z.number() }).strict()),
    symbols: z.array(z.object({ symbol: z.string(), rows: z.number(), distinct_dates: z.number(), first: z.string().nullable(), last: z.string().nullable(), no_metadata_rows: z.number(), off_dates: z.number() }).strict()),
    drift: z.array(z.object({ period: z.string(), rows: z.number(), counts: z.array(z.array(z.number())) }).strict()),
  })
  .strict();
type Partial = z.infer<typeof PartialSchema>;

/** `validate --plan … --buckets … --stage DIR --json`. */
export interface ValidatePartitionReport {
  stage: string;
  buckets: number[];
  snapshot: number;
  rows: number;
  symbols: number;
  seconds: number;
}

/** Computes one partition's whole-table passes over the snapshot's files of `buckets` (in catalog order) into DIR/_partial.json. */
export async function runValidatePartition(o: { ws: Workspace; plan: ValidatePlan; buckets: readonly number[]; stage: string; log: Logger }): Promise<ValidatePartitionReport> {
  const t0 = performance.now();
  const { ws, plan } = o;
  const buckets = [...o.buckets].sort((a, b) => a - b);
  if (buckets.length === 0 || buckets.some((b, i) => !plan.buckets.includes(b) || buckets[i - 1] === b)) {
    throw new StockpipeError('SP_ERR_USAGE', `--buckets must list distinct buckets of the plan (${plan.buckets.join(',')}); got ${o.buckets.join(',') || 'none'}`);
  }
  const t = readTable(ws, plan.table, String(plan.snapshot), { missingCode: 'SP_ERR_VALIDATE_INPUT' });
  if (t.snapshot.id !== plan.snapshot) throw new StockpipeError('SP_ERR_STORE_CONFLICT', `snapshot ${plan.snapshot} is not a ${plan.table} snapshot: nothing was staged`, { hint: 'Run the validate task again.' });
  const ref = await readReference(plan.reference, plan.table);
  if (ref.version !== plan.reference_version) throw new StockpipeError('SP_ERR_STORE_CONFLICT', `the reference is v${ref.version}, the plan's v${plan.reference_version}: nothing was staged`, { hint: 'Run the validate task again.' });
  const own = new Set(buckets);
  const paths = t.files.filter((f) => own.has(bucketOfPartition(f.partition) ?? -1)).map((f) => ws.path(f.path));
  const partial: Partial = { version: 1, snapshot: plan.snapshot, reference_version: plan.reference_version, buckets, dates: [], symbols: [], drift: [] };
  await rm(o.stage, { recursive: true, force: true });
  await mkdir(o.stage, { recursive: true });
  if (paths.length > 0) {
    const db = await openDuckDB(ws.duckdbSettings());
    try {
      const conn = db.connection;
      const input = parquetSource(paths);
      const cols = (await parquetColumns(conn, input)).filter((c) => c.name !== LINEAGE_COLUMN);
      const has = (n: string, type?: string): boolean => cols.some((c) => c.name === n && (type === undefined || c.type === type));
      // As validate/validate's scanAll: a symbol's rows are all in its bucket, so its counts are whole here.
      if (has('Date', 'VARCHAR')) {
        const dates: DateGroup[] = await dateCounts(conn, input);
        partial.dates = dates;
        if (has('Symbol')) {
          const off = scanDates(dates, []).off.map((g) => g.date);
          const symbols: SymbolGroup[] = await symbolGroups(conn, input, { hasSecurityName: has('Security Name'), offDates: off, duplicates: await duplicateRows(conn, input, paths) });
          partial.symbols = symbols;
        }
      }
      const { specs, split } = driftSpecs(ref, cols);
      if (specs.length > 0) partial.drift = (await periodBinCounts(conn, input, specs, split)).map((p) => ({ period: p.period, rows: p.rows, counts: p.counts.map((c) => [...c]) }));
    } finally {
      db.close();
    }
  }
  await writeFileAtomic(join(o.stage, PARTIAL), `${JSON.stringify(partial)}\n`);
  const rows = partial.dates.reduce((a, d) => a + d.rows, 0);
  return { stage: o.stage, buckets, snapshot: plan.snapshot, rows, symbols: partial.symbols.length, seconds: Math.round(performance.now() - t0) / 1000 };
}

export const ValidateCommitSchema = z.object({ version: z.literal(1), commit_key: z.string().min(1), plan: ValidatePlanSchema, stages: z.array(z.string().refine(isAbsolute)) }).strict();
export type ValidateCommit = z.infer<typeof ValidateCommitSchema>;

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Adds the partitions up, in the order one process's queries give them (dates and symbols sorted, periods sorted). */
export function mergePartials(parts: readonly Pick<Partial, 'dates' | 'symbols' | 'drift'>[]): WholeStats {
  const dates = new Map<string, number>();
  const periods = new Map<string, PeriodBins>();
  const symbols: SymbolGroup[] = [];
  for (const p of parts) {
    for (const d of p.dates) dates.set(d.date, (dates.get(d.date) ?? 0) + d.rows);
    symbols.push(...p.symbols);
    for (const q of p.drift) {
      const acc = periods.get(q.period);
      if (acc === undefined) periods.set(q.period, { period: q.period, rows: q.rows, counts: q.counts.map((c) => Float64Array.from(c)) });
      else {
        acc.rows += q.rows;
        q.counts.forEach((c, i) => c.forEach((n, k) => { acc.counts[i]![k]! += n; }));
      }
    }
  }
  // '(null)' stands for a null symbol, which the query orders first.
  symbols.sort((a, b) => (a.symbol === '(null)' ? -1 : b.symbol === '(null)' ? 1 : cmp(a.symbol, b.symbol)));
  return {
    dates: [...dates].sort((a, b) => cmp(a[0], b[0])).map(([date, rows]) => ({ date, rows })),
    symbols,
    drift: [...periods.values()].sort((a, b) => cmp(a.period, b.period)),
  };
}

/** Reads every partition (each plan bucket in exactly one; SP_ERR_PARTITION_STAGE otherwise), adds them up and runs the check and the report as a local validate does. */
export async function commitValidateStages(o: Omit<ValidateWorkspaceOptions, 'setReference' | 'referencePath' | 'asOf' | 'partials'> & { commit: ValidateCommit }): Promise<ValidateData> {
  const { plan } = o.commit;
  const parts: Partial[] = [];
  const seen = new Set<number>();
  for (const dir of o.commit.stages) {
    const p = await readJsonFile(join(dir, PARTIAL), PartialSchema, 'validate partition');
    if (p.snapshot !== plan.snapshot || p.reference_version !== plan.reference_version) throw new StockpipeError('SP_ERR_PARTITION_STAGE', `stage ${dir} was not made by this plan (snapshot ${p.snapshot}, reference v${p.reference_version})`, { hint: 'Run the validate task again.' });
    for (const b of p.buckets) {
      if (seen.has(b) || !plan.buckets.includes(b)) throw new StockpipeError('SP_ERR_PARTITION_STAGE', `stage ${dir}: bucket ${b} is in two stages or not in the plan`, { hint: 'Run the validate task again.' });
      seen.add(b);
    }
    parts.push(p);
  }
  const missing = plan.buckets.filter((b) => !seen.has(b));
  if (missing.length > 0) throw new StockpipeError('SP_ERR_PARTITION_STAGE', `no stage holds bucket${missing.length > 1 ? 's' : ''} ${missing.join(',')}`, { hint: 'Run a partition for every bucket of the plan.' });
  if (o.settings.table !== plan.table) throw new StockpipeError('SP_ERR_USAGE', `the plan checks ${plan.table}, the config validate.table is ${o.settings.table}`);
  return validateWorkspace({ ...o, setReference: false, partials: { snapshot: plan.snapshot, since: plan.since, referenceVersion: plan.reference_version, stats: mergePartials(parts) } });
}
