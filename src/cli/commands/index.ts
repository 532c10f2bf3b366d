/** @module cli/commands
 * Every command's declaration, in the order `stockpipe --help` lists them, and the groups
 * (`models …`, `runs …`) with their summaries. cli/main turns them into the parser. */
import type { CommandSpec } from '../options.js';
import type { Globals } from '../globals.js';
import { features, fetch, ingest, validate } from './data.js';
import { lineageModel, lineageRun, lineageSnapshot } from './lineage.js';
import { evaluate, forecast, modelsAt, modelsCompare, modelsHistory, modelsList, modelsPromote, modelsShow, modelsTag, train } from './models.js';
import { backfill, monitor, run, runsCancel, runsList, runsLogs, runsShow, scheduler, serve, worker } from './ops.js';
import { exportTable, snapshots, vacuum } from './store.js';
import { studies, tune } from './tuning.js';

export const COMMANDS: readonly CommandSpec<Globals>[] = [
  fetch,
  ingest,
  features,
  validate,
  snapshots,
  exportTable,
  vacuum,
  train,
  tune,
  studies,
  evaluate,
  forecast,
  serve,
  monitor,
  modelsList,
  modelsShow,
  modelsPromote,
  modelsCompare,
  modelsAt,
  modelsHistory,
  modelsTag,
  run,
  backfill,
  scheduler,
  worker,
  runsList,
  runsShow,
  runsLogs,
  runsCancel,
  lineageModel,
  lineageRun,
  lineageSnapshot,
];

/** A group's summary and examples (`stockpipe models --help`). */
export const GROUPS: Readonly<Record<string, { summary: string; examples: readonly string[] }>> = {
  models: {
    summary: 'model versions, aliases (champion, …) and promotion, from <workspace>/stockpipe.db',
    examples: ['stockpipe models list', 'stockpipe models show champion --json', 'stockpipe models promote <model-id>', 'stockpipe models history --alias champion'],
  },
  runs: {
    summary: "run history: pipeline runs (and with --kind, the runs every writing command records): list, show one run, a task's log",
    examples: ['stockpipe runs   # = runs list', 'stockpipe runs list --status failed', 'stockpipe runs show <run-id> --json', 'stockpipe runs logs <run-id> ingest', 'stockpipe runs cancel <run-id>'],
  },
  lineage: {
    summary: 'model → training run → data snapshots → source manifest, and back from a snapshot or a run to what used it',
    examples: ['stockpipe lineage model champion', 'stockpipe lineage run <run-id> --json', 'stockpipe lineage snapshot 1'],
  },
};
