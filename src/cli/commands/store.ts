/** @module cli/commands/store
 * The store commands' command lines: snapshots, export, vacuum (options, help, examples); the work
 * is in cli/store. */
import { z } from 'zod';
import { cli, defineCommand, flag, inRange, whole } from '../options.js';
import { exportCommand, snapshotsCommand, vacuumCommand } from '../store.js';

export const snapshots = defineCommand({
  name: 'snapshots',
  summary: "a table's snapshots, newest first (id, time, operation, rows, files); all tables without TABLE",
  args: z.object({ table: z.string().optional() }).strict(),
  options: z.object({}).strict(),
  examples: ['stockpipe snapshots', 'stockpipe snapshots features --json'],
  run: (o, ctx) => snapshotsCommand(ctx, o.table),
});

export const exportTable = defineCommand({
  name: 'export',
  records: 'export',
  summary: 'one file of a table as of a snapshot (sorted by Symbol, Date; the _snapshot_id lineage column included): .parquet or .csv',
  args: z.object({ table: z.string() }).strict(),
  options: z
    .object({
      out: z.string().describe('the file to write: FILE.parquet or FILE.csv').register(cli, { arg: 'file' }),
      asOf: z.string().optional().describe('the table as of a snapshot id or an ISO-8601 time').register(cli, { arg: 'snapshot|time', defaultText: 'the current snapshot' }),
    })
    .strict(),
  examples: ['stockpipe export prices --out prices.parquet', 'stockpipe export features --as-of 7 --out features-7.csv --json'],
  run: (o, ctx) => exportCommand(ctx, o.table, { out: o.out, asOf: o.asOf }),
});

export const vacuum = defineCommand({
  name: 'vacuum',
  records: 'vacuum',
  summary: 'compact buckets with several files, then delete the files no kept snapshot or model lineage needs, orphans older than an hour and the stage folders finished runs left behind',
  options: z
    .object({
      keepSnapshots: whole().optional().describe("keep each table's newest N snapshots").register(cli, { arg: 'n', defaultText: '5' }),
      olderThan: whole().optional().describe('instead: keep the snapshots younger than DAYS days').register(cli, { arg: 'days' }),
      dryRun: flag().describe('report what would be compacted and removed; change nothing'),
    })
    .strict(),
  examples: ['stockpipe vacuum --dry-run', 'stockpipe vacuum --keep-snapshots 2 --json', 'stockpipe vacuum --older-than 30'],
  run: (o, ctx) => {
    inRange('--keep-snapshots', o.keepSnapshots, 1, 1_000_000);
    inRange('--older-than', o.olderThan, 0, 100_000);
    return vacuumCommand(ctx, { keepSnapshots: o.keepSnapshots, olderThan: o.olderThan, dryRun: o.dryRun });
  },
});
