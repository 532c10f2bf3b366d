/** @module cli/commands/lineage
 * `stockpipe lineage model|run|snapshot`: the command lines (the work is in cli/lineage). */
import { z } from '../../core/zod.js';
import { defineCommand, inRange, whole } from '../options.js';

const options = () => z.object({ files: whole().default(20).describe("how many of the source manifest's files to list (0 to 100000)") }).strict();
const files = (n: number): number => {
  inRange('--files', n, 0, 100_000);
  return n;
};

export const lineageModel = defineCommand({
  name: 'lineage model',
  summary: 'a model → its training run → features snapshot → prices snapshot → source manifest (files, sizes, hashes) and ingest run',
  args: z.object({ 'id|alias': z.string() }).strict(),
  options,
  examples: ['stockpipe lineage model champion', 'stockpipe lineage model <model-id> --files 0 --json'],
  run: async (o, ctx) => (await import('../lineage.js')).lineageModelCommand(ctx, o['id|alias'], files(o.files)),
});

export const lineageRun = defineCommand({
  name: 'lineage run',
  summary: 'a run → the snapshots it read and wrote, the models it registered, its parent and child runs',
  args: z.object({ 'run-id': z.string() }).strict(),
  options,
  examples: ['stockpipe lineage run <run-id>', 'stockpipe lineage run <run-id> --json'],
  run: async (o, ctx) => (await import('../lineage.js')).lineageRunCommand(ctx, o['run-id'], files(o.files)),
});

export const lineageSnapshot = defineCommand({
  name: 'lineage snapshot',
  summary: 'a store snapshot ← the run that wrote it; → the runs that read it, derived snapshots and the models trained on it',
  args: z.object({ id: z.string() }).strict(),
  options,
  examples: ['stockpipe lineage snapshot 3', 'stockpipe lineage snapshot 1 --json'],
  run: async (o, ctx) => (await import('../lineage.js')).lineageSnapshotCommand(ctx, o.id, files(o.files)),
});
