/** @module cli/commands/store
 * The store commands' command lines: snapshots, export, vacuum (options, help, examples); the work
 * is in cli/store. */
import { z } from '../../core/zod.js';
import { cli, defineCommand, flag, inRange, whole } from '../options.js';
// Each command's module is imported when the command runs, so a process loads only its own command's code
// (about 0.15 s less CPU at each start, measured; every pipeline task is such a start).

export const snapshots = defineCommand({
  name: 'snapshots',
  summary: "a table's snapshots, newest first (id, time, operation, rows, files); all tables without TABLE",
  args: z.object({ table: z.string().optional() }).strict(),
  options: () => z.object({}).strict(),
  examples: ['stockpipe snapshots', 'stockpipe snapshots features --json'],
  run: async (o, ctx) => (await import('../store.js')).snapshotsCommand(ctx, o.table),
});

/** --symbols: a comma list of tickers (kept as written: BRK-A, AGM$A). */
const tickerList = z.string().transform((v, ctx): string[] => {
  const list = v.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) ctx.addIssue({ code: 'custom', message: 'needs tickers separated by commas, e.g. AAPL,MSFT' });
  return [...new Set(list)];
});

export const exportTable = defineCommand({
  name: 'export',
  records: 'export',
  existing: true,
  summary: 'one file of a table (prices, features: as of a snapshot, the _snapshot_id lineage column included; forecasts: from the registry; predictions: every features row with a volume model\'s predicted volume, as GET /predict answers), optionally some symbols and dates, sorted by symbol and date: .parquet or .csv',
  args: z.object({ table: z.string() }).strict(),
  options: () =>
    z
    .object({
      out: z.string().describe('the file to write: FILE.parquet or FILE.csv').register(cli, { arg: 'file' }),
      format: z.string().optional().describe('csv or parquet; must agree with the --out name').register(cli, { arg: 'csv|parquet', defaultText: "from --out's extension" }),
      symbols: tickerList.optional().describe('only these symbols, e.g. AAPL,MSFT').register(cli, { arg: 'list', defaultText: 'every symbol' }),
      from: z.string().optional().describe('only rows dated on or after this day, YYYY-MM-DD').register(cli, { arg: 'date' }),
      to: z.string().optional().describe('only rows dated on or before this day, YYYY-MM-DD').register(cli, { arg: 'date' }),
      asOf: z.string().optional().describe('the table as of a snapshot id or an ISO-8601 time').register(cli, { arg: 'snapshot|time', defaultText: 'the current snapshot' }),
      model: z.string().optional().describe('predictions only: the volume model (id or alias) that scores the rows').register(cli, { arg: 'id|alias', defaultText: 'champion' }),
    })
    .strict(),
  examples: [
    'stockpipe export prices --out prices.parquet',
    'stockpipe export features --as-of 7 --out features-7.csv --json',
    'stockpipe export features --symbols AAPL,MSFT --from 2019-01-01 --to 2019-12-31 --format csv --out aapl-msft.csv',
    'stockpipe export forecasts --from 2020-01-01 --out forecasts.parquet',
    'stockpipe export predictions --model champion --symbols AAPL --from 2019-01-01 --format csv --out aapl-predicted.csv',
  ],
  run: async (o, ctx) => (await import('../store.js')).exportCommand(ctx, o.table, { out: o.out, asOf: o.asOf, format: o.format, symbols: o.symbols, from: o.from, to: o.to, model: o.model }),
});

export const vacuum = defineCommand({
  name: 'vacuum',
  records: 'vacuum',
  existing: true,
  summary: 'compact buckets with several files, then delete the files no kept snapshot or model lineage needs, orphans older than an hour and the stage folders finished runs left behind',
  options: () =>
    z
    .object({
      keepSnapshots: whole().optional().describe("keep each table's newest N snapshots").register(cli, { arg: 'n', defaultText: '5' }),
      olderThan: whole().optional().describe('instead: keep the snapshots younger than DAYS days').register(cli, { arg: 'days' }),
      dryRun: flag().describe('report what would be compacted and removed; change nothing'),
    })
    .strict(),
  examples: ['stockpipe vacuum --dry-run', 'stockpipe vacuum --keep-snapshots 2 --json', 'stockpipe vacuum --older-than 30'],
  run: async (o, ctx) => {
    inRange('--keep-snapshots', o.keepSnapshots, 1, 1_000_000);
    inRange('--older-than', o.olderThan, 0, 100_000);
    return (await import('../store.js')).vacuumCommand(ctx, { keepSnapshots: o.keepSnapshots, olderThan: o.olderThan, dryRun: o.dryRun });
  },
});
