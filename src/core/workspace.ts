/** @module core/workspace
 * The one owner of the workspace layout: every file and folder stockpipe keeps under a workspace,
 * as relative names (`layout`, what pipeline tasks declare) and as absolute paths (`Workspace`),
 * plus the resources a command runs with there (threads, DuckDB memory limit, spill folder).
 * Created once per command in cli/ and passed down; nothing else joins workspace paths. Opening
 * DuckDB is db/'s (`openDuckDB(ws.duckdbSettings())`), opening the store is registry/'s.
 *
 * ```
 * <root>/
 *   source.json                      the workspace's source and its switches
 *   raw/<source-id>/manifest.json    + data/ for sources that copy files
 *   tables/<table>/                  the table's current snapshot, readable without stockpipe:
 *                                    bucket=<NN>/<file>.parquet (hard links into store/) + _snapshot.json
 *   tables/<table>.report.json       the last ingest / features report
 *   store/<table>/bucket=<NN>/       every data file a kept snapshot or model lineage needs (immutable)
 *   validation/                      reference[-features][-v<N>].json, latest.json, report-<stamp>.json
 *   models/<model-id>/               model.json, metrics.json, training.log, card.md, intervals.json
 *   runs/<run-id>/<task>.log         one log per pipeline task
 *   pipeline/                        run.lock, scheduler.lock, hash-memo.json, scheduler-state.json, scheduler-runs.json, scheduler/<pipeline>-<stamp>.log
 *   stockpipe.db                     the store (+ -wal, -shm)
 *   tmp/duckdb/, tmp/duckdb-reader/  DuckDB spill folders
 *   tmp/stage/<run>/<task>/     staged partition outputs of a queued task (executor bullmq)
 * ```
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** A table stockpipe writes and validates. */
export type TableName = 'prices' | 'features';

/** The files of a model folder. */
export type ModelFileName = 'model.json' | 'metrics.json' | 'training.log' | 'card.md' | 'intervals.json';

/** A validation reference's file stem: prices → reference, features → reference-features. */
function referenceStem(table: TableName): string {
  return table === 'prices' ? 'reference' : 'reference-features';
}

/** The layout as workspace-relative names with `/` separators (what pipeline tasks declare as inputs and outputs). */
export const layout = {
  sourceRecord: 'source.json',
  rawRoot: 'raw',
  rawDir: (sourceId: string): string => `raw/${sourceId}`,
  manifest: (sourceId: string): string => `raw/${sourceId}/manifest.json`,
  tablesDir: 'tables',
  /** A table's current snapshot as a folder of Parquet files (what other tools read). */
  tableDir: (table: TableName): string => `tables/${table}`,
  /** A table's head: its current snapshot id, rows and files (rewritten by every commit; pipeline tasks hash it). */
  tableHead: (table: TableName): string => `tables/${table}/_snapshot.json`,
  pricesReport: 'tables/prices.report.json',
  storeDir: 'store',
  /** What a table was before the store (one Parquet file and its report): removed when the table's first snapshot is written. */
  legacyTableFiles: (table: TableName): readonly string[] => (table === 'prices' ? ['tables/prices.parquet'] : ['features/features.parquet', 'features/features.report.json']),
  /** Where a table's immutable data files live. */
  storeTableDir: (table: TableName): string => `store/${table}`,
  validationDir: 'validation',
  currentReference: (table: TableName): string => `validation/${referenceStem(table)}.json`,
  versionedReference: (table: TableName, version: number): string => `validation/${referenceStem(table)}-v${version}.json`,
  /** The version a file name in validation/ is of a table's reference (`reference-v3.json` → 3), or null. */
  referenceVersionOf: (table: TableName, fileName: string): number | null => {
    const m = new RegExp(`^${referenceStem(table)}-v(\\d+)\\.json$`).exec(fileName);
    return m ? Number(m[1]) : null;
  },
  latestValidation: 'validation/latest.json',
  validationReport: (stamp: string): string => `validation/report-${stamp}.json`,
  featuresReport: 'tables/features.report.json',
  modelsDir: 'models',
  modelDir: (modelId: string): string => `models/${modelId}`,
  modelFile: (modelId: string, file: ModelFileName): string => `models/${modelId}/${file}`,
  runsDir: 'runs',
  runDir: (runId: string): string => `runs/${runId}`,
  taskLog: (runId: string, task: string): string => `runs/${runId}/${task}.log`,
  pipelineDir: 'pipeline',
  runLock: 'pipeline/run.lock',
  schedulerLock: 'pipeline/scheduler.lock',
  hashMemo: 'pipeline/hash-memo.json',
  schedulerState: 'pipeline/scheduler-state.json',
  schedulerRuns: 'pipeline/scheduler-runs.json',
  schedulerLog: (pipeline: string, stamp: string): string => `pipeline/scheduler/${pipeline}-${stamp}.log`,
  launchLog: (name: string): string => `pipeline/launches/${name}.log`,
  registry: 'stockpipe.db',
  tmpDir: 'tmp',
  /** Incremental features' context rows as of the prices snapshot last built from (features/tails; an accelerator, never an input). */
  featuresTails: 'tmp/features-tails.parquet',
  /** validate's drift bin counts per data file under one reference (validate/file-cache; an accelerator, never an input). */
  driftCounts: (table: TableName): string => `tmp/validate-drift-${table}.json`,
  /** validate's symbols per data file, for the duplicates check (validate/file-cache; an accelerator, never an input). */
  symbolsCache: (table: TableName): string => `tmp/validate-symbols-${table}.json`,
  duckdbTemp: 'tmp/duckdb',
  duckdbReaderTemp: 'tmp/duckdb-reader',
  /** A queued task's staged partition outputs (executor bullmq), until its coordinator commits them. */
  stageRoot: 'tmp/stage',
  stageDir: (runId: string, task: string): string => `tmp/stage/${runId}/${task}`,
  /** Top-level folders that hold no outputs of their own (run logs, DuckDB spill): not searched for stale temps. */
  transientDirs: ['runs', 'tmp'] as readonly string[],
  /** Top-level folders that hold stockpipe's outputs: the only ones searched for stale temps (a workspace that is
   * also a home folder must not lose another program's `notes.tmp-123`). */
  outputDirs: ['tables', 'store', 'validation', 'models', 'raw', 'pipeline'] as readonly string[],
} as const;

/** The names the layout creates at a workspace's top (and the config file's name, stockpipe's own too): a folder
 * holding one of them is a stockpipe workspace; one holding other files and none of these is not (cli/main). */
export const workspaceMarks: ReadonlySet<string> = new Set([
  layout.sourceRecord, layout.rawRoot, layout.tablesDir, layout.storeDir, layout.validationDir, layout.modelsDir, layout.runsDir, layout.pipelineDir,
  layout.registry, `${layout.registry}-wal`, layout.tmpDir, ...layout.legacyTableFiles('features').map((f) => f.split('/')[0]!), 'stockpipe.config.json',
]);

/** What a command runs with: worker/DuckDB threads and DuckDB's memory limit (config `threads`, `memory_limit`). */
export interface WorkspaceResources {
  threads: number;
  /** e.g. '1GB'. */
  memoryLimit: string;
}

/** How db/ opens DuckDB for this workspace: `openDuckDB(ws.duckdbSettings())`. */
export interface DuckDBSettings {
  /** Spill folder inside the workspace. */
  tempDir: string;
  memoryLimit: string;
  threads: number;
}

/** Used when a workspace is opened without resources (tools, tests): the config defaults' memory limit, one thread. */
export const DEFAULT_RESOURCES: WorkspaceResources = { threads: 1, memoryLimit: '1GB' };

/** A workspace folder: its absolute paths and the resources commands use there. Cheap; creates nothing on disk. */
/**
 * `~` or a leading `~/` of a workspace path as the home folder `home`: a config file's
 * `"workspace": "~/data"` (or a quoted `STOCKPIPE_WORKSPACE`, `--workspace=~/data`) reaches no shell
 * that would expand it, and made a folder named `~` in the current one. `~user/` is left as written.
 */
export function expandHome(path: string, home: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/') || path.startsWith(`~${sep}`)) return resolve(home, path.slice(2));
  return path;
}

export class Workspace {
  /** The workspace folder, absolute. */
  readonly root: string;
  readonly threads: number;
  readonly memoryLimit: string;

  readonly sourceRecord: string;
  readonly rawRoot: string;
  readonly tablesDir: string;
  readonly pricesReport: string;
  readonly storeDir: string;
  readonly validationDir: string;
  readonly latestValidation: string;
  readonly featuresReport: string;
  readonly modelsDir: string;
  readonly runsDir: string;
  readonly pipelineDir: string;
  readonly runLock: string;
  readonly schedulerLock: string;
  readonly hashMemo: string;
  readonly schedulerState: string;
  /** The scheduled runs in progress (pipeline/schedule): one left there was going when its scheduler was killed. */
  readonly schedulerRuns: string;
  readonly registryPath: string;
  readonly tmpDir: string;
  readonly featuresTails: string;
  readonly duckdbTempDir: string;
  readonly duckdbReaderTempDir: string;

  constructor(root: string, resources: Partial<WorkspaceResources> = {}) {
    this.root = resolve(root);
    this.threads = resources.threads ?? DEFAULT_RESOURCES.threads;
    this.memoryLimit = resources.memoryLimit ?? DEFAULT_RESOURCES.memoryLimit;
    this.sourceRecord = this.path(layout.sourceRecord);
    this.rawRoot = this.path(layout.rawRoot);
    this.tablesDir = this.path(layout.tablesDir);
    this.storeDir = this.path(layout.storeDir);
    this.pricesReport = this.path(layout.pricesReport);
    this.validationDir = this.path(layout.validationDir);
    this.latestValidation = this.path(layout.latestValidation);
    this.featuresReport = this.path(layout.featuresReport);
    this.modelsDir = this.path(layout.modelsDir);
    this.runsDir = this.path(layout.runsDir);
    this.pipelineDir = this.path(layout.pipelineDir);
    this.runLock = this.path(layout.runLock);
    this.schedulerLock = this.path(layout.schedulerLock);
    this.hashMemo = this.path(layout.hashMemo);
    this.schedulerState = this.path(layout.schedulerState);
    this.schedulerRuns = this.path(layout.schedulerRuns);
    this.registryPath = this.path(layout.registry);
    this.tmpDir = this.path(layout.tmpDir);
    this.featuresTails = this.path(layout.featuresTails);
    this.duckdbTempDir = this.path(layout.duckdbTemp);
    this.duckdbReaderTempDir = this.path(layout.duckdbReaderTemp);
  }

  /** A workspace-relative name (a `layout` entry, or a task's declared file) as an absolute path; absolute paths pass through. */
  path(rel: string): string {
    return resolve(this.root, rel);
  }

  /** A path inside the workspace as a relative name with `/` separators; a path outside stays absolute. */
  relative(abs: string): string {
    const rel = relative(this.root, resolve(this.root, abs));
    return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(this.root, abs) : rel.split(sep).join('/');
  }

  /** Whether `p` (absolute, or relative to the root) lies inside the workspace. */
  contains(p: string): boolean {
    const rel = relative(this.root, resolve(this.root, p));
    return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
  }

  rawDir(sourceId: string): string {
    return this.path(layout.rawDir(sourceId));
  }

  manifest(sourceId: string): string {
    return this.path(layout.manifest(sourceId));
  }

  /** A table's current snapshot as a folder (hard links to its live files). */
  tableDir(name: TableName): string {
    return this.path(layout.tableDir(name));
  }

  /** A table's head file (tables/<table>/_snapshot.json). */
  tableHead(name: TableName): string {
    return this.path(layout.tableHead(name));
  }

  /** A table's folder of immutable data files. */
  storeTableDir(name: TableName): string {
    return this.path(layout.storeTableDir(name));
  }

  /** The last report of the command that writes a table. */
  tableReport(name: TableName): string {
    return name === 'prices' ? this.pricesReport : this.featuresReport;
  }

  currentReference(table: TableName): string {
    return this.path(layout.currentReference(table));
  }

  driftCounts(table: TableName): string {
    return this.path(layout.driftCounts(table));
  }

  symbolsCache(table: TableName): string {
    return this.path(layout.symbolsCache(table));
  }

  versionedReference(table: TableName, version: number): string {
    return this.path(layout.versionedReference(table, version));
  }

  validationReport(stamp: string): string {
    return this.path(layout.validationReport(stamp));
  }

  modelDir(modelId: string): string {
    return this.path(layout.modelDir(modelId));
  }

  modelFile(modelId: string, file: ModelFileName): string {
    return this.path(layout.modelFile(modelId, file));
  }

  runDir(runId: string): string {
    return this.path(layout.runDir(runId));
  }

  taskLog(runId: string, task: string): string {
    return this.path(layout.taskLog(runId, task));
  }

  stageDir(runId: string, task: string): string {
    return this.path(layout.stageDir(runId, task));
  }

  schedulerLog(pipeline: string, stamp: string): string {
    return this.path(layout.schedulerLog(pipeline, stamp));
  }

  /** The output (stdout and stderr) of a run, resume or backfill the dashboard started as a CLI child. */
  launchLog(name: string): string {
    return this.path(layout.launchLog(name));
  }

  /** The same workspace with other resources (a server's one-thread background reads). */
  withResources(over: Partial<WorkspaceResources>): Workspace {
    return new Workspace(this.root, { threads: over.threads ?? this.threads, memoryLimit: over.memoryLimit ?? this.memoryLimit });
  }

  /** DuckDB settings for a command: the spill folder, the memory limit and at least one thread; `over` narrows them (a one-thread reader). */
  duckdbSettings(over: Partial<WorkspaceResources> = {}): DuckDBSettings {
    return { tempDir: this.duckdbTempDir, memoryLimit: over.memoryLimit ?? this.memoryLimit, threads: Math.max(1, over.threads ?? this.threads) };
  }

  /** The settings of a feature worker's own one-thread DuckDB (its own spill folder beside the command's). */
  readerDuckdbSettings(): DuckDBSettings {
    return { tempDir: this.duckdbReaderTempDir, memoryLimit: this.memoryLimit, threads: 1 };
  }
}

/** A Workspace, or a workspace folder (tools and tests), for the few entry points that take either. */
export type WorkspaceRef = Workspace | string;

/** The Workspace of a ref: the same object, or one over the folder with the default resources. */
export function toWorkspace(ref: WorkspaceRef): Workspace {
  return typeof ref === 'string' ? new Workspace(ref) : ref;
}
