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

/** A group's summary (`stockpipe models --help`). */
export const GROUPS: Readonly<Record<string, string>> = {
  models: 'model versions, aliases (champion, …) and promotion, from <workspace>/stockpipe.db',
  runs: "run history: pipeline runs (and with --kind, the runs every writing command records): list, show one run, a task's log",
  lineage: 'model → training run → data snapshots → source manifest, and back from a snapshot or a run to what used it',
};
