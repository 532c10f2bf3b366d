/** @module dashboard/routes
 * The dashboard's JSON API and page (docs/api.md), registered by serve/app's buildApp: pipeline
 * runs (paged) with their tasks and logs, model promotion and comparison, the validation report,
 * the symbol routes (series.ts) and the static page (static.ts). Reads go through the server's one
 * read-only registry handle and db/feature-table; promotion opens a short-lived writable handle.
 * The runner, validate and monitor write what is read here. Adds no hooks to the prediction
 * routes, and imports nothing from serve/ (the served model is a ChampionView). Paths come from
 * the served Workspace. */
import { championAliasOf } from '../registry/alias-kinds.js';
import { assertModelLoads } from '../ml/artifacts.js';
import { compareWithStudies } from '../registry/model-study.js';
import { NO_QUERY } from '../http/validation.js';
import { open } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { clip, StockpipeError } from '../core/errors.js';
import { readFileOrNull, statOrNull } from '../core/fs.js';
import { toWorkspace, type WorkspaceRef } from '../core/workspace.js';
import { FeatureTableReader } from '../db/feature-table.js';
import { storeLocator } from './table-locator.js';
import { holderRescorer, workspaceData } from '../ml/rescore.js';
import { countPipelineRuns, getPipelineRun, listPipelineRuns } from '../registry/pipeline.js';
import { checkListedPipeline } from '../pipeline/builtin/index.js';
import { backfillIdsFor, backfillsAsRead, getBackfill, listBackfills, newestBackfillsText } from '../registry/backfills.js';
import { lockHolder } from '../pipeline/lock.js';
import { promote } from '../registry/promote.js';
import { PIPELINE_RUN_STATUSES } from '../registry/schema.js';
import type { RegistryReader } from '../registry/reader.js';
import { ALIAS_NAME, NOTE_MAX_LENGTH, NOTE_TEXT, openRegistry, type Registry } from '../registry/store.js';
import { registerSeriesRoutes, type ChampionView } from './series.js';
import { defaultAssetsDir, registerStatic } from './static.js';
import { registerStudyRoutes } from './studies.js';
import { registerModelRoutes } from './routes-models.js';
import { type ControlOptions, registerControlRoutes } from './routes-control.js';
import { registerLogRoutes, taskLogFile } from './routes-logs.js';
import { registerExportRoutes } from './routes-export.js';
import { registerLineageRoutes } from './routes-lineage.js';
import { registerTagRoutes } from './routes-tags.js';
import { registerPredictionRoutes } from './routes-predictions.js';
import { recordedApiWrite } from './api-run.js';
import { noPipelineRun } from './run-not-found.js';


/** The query parameters of a paged list that can be narrowed to one pipeline (/runs, /backfills). */
const PAGED_BY_PIPELINE = {
  limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 },
  offset: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 },
  pipeline: { type: 'string', minLength: 1, maxLength: 200 },
} as const;
export interface DashboardOptions {
  /** The served workspace (its memory limit bounds the dashboard's DuckDB reads). */
  workspace: WorkspaceRef;
  holder: ChampionView;
  /** The server's read-only registry handle. */
  registry: RegistryReader;
  /** The built page (default dist/dashboard). */
  assetsDir?: string;
  /** How to start runs from the page (routes-control); without it the POSTs answer SP_ERR_LAUNCH_FAILED. */
  control?: ControlOptions;
}

/** Schemas of the routes' path parameters, and of a route that takes no query parameters. */
const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] } as const;
const logParams = { type: 'object', properties: { id: idParams.properties.id, task: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id', 'task'] } as const;

/** The longest log text sent (its tail, when the file is larger). */
export const LOG_TAIL_BYTES = 1 << 20;

export interface TaskStrip {
  task: string;
  status: string;
  attempts: number;
  seconds: number | null;
}

/** Each run's tasks in plan order (name, status, attempts, seconds): the list's small task graphs, one query per page. */
function taskStrips(reg: Registry, runIds: readonly string[]): Map<string, TaskStrip[]> {
  const out = new Map<string, TaskStrip[]>();
  if (runIds.length === 0) return out;
  const rows = reg.all<TaskStrip & { run_id: string }>('read task strips',
    `SELECT run_id, task, status, attempts, seconds FROM task_runs WHERE run_id IN (${runIds.map(() => '?').join(',')}) ORDER BY run_id, position`, [...runIds]);
  for (const { run_id, ...t } of rows) {
    const list = out.get(run_id) ?? [];
    list.push(t);
    out.set(run_id, list);
  }
  return out;
}

async function readJsonOrNull(file: string): Promise<{ value: unknown; error: string | null }> {
  // Stat first: a folder there would throw EISDIR (a 500), and reading a FIFO would wait for a writer forever.
  const st = await statOrNull(file);
  if (st === null) return { value: null, error: null };
  if (!st.isFile()) return { value: null, error: `${file}: not a regular file` };
  const text = await readFileOrNull(file);
  if (text === null) return { value: null, error: null };
  try {
    return { value: JSON.parse(text) as unknown, error: null };
  } catch (err) {
    return { value: null, error: `${file}: not valid JSON (${(err as Error).message})` };
  }
}

/** The last `max` bytes of a file (starting at a line when cut), and whether it was cut. */
async function readTail(file: string, max: number): Promise<{ text: string; cut: boolean }> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, max);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    let text = buf.toString('utf8');
    if (len < size) text = text.slice(text.indexOf('\n') + 1);
    return { text, cut: len < size };
  } finally {
    await fh.close();
  }
}

export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const { holder, registry } = opts;
  const ws = toWorkspace(opts.workspace);
  const table = new FeatureTableReader(ws.withResources({ threads: 1 }), storeLocator(ws, registry));
  app.addHook('onClose', async () => table.close());

  /** `?backfill=X`: the backfill's id from X or the start of it a list shows (as `runs list --backfill`); an unknown one is a
   * 404 naming the newest (it answered an empty page, as for a backfill without runs). */
  const backfillIdOf = (reg: Registry, text: string): string => {
    const ids = backfillIdsFor(reg, text);
    if (ids.length === 1) return ids[0]!;
    if (ids.length > 1) throw new StockpipeError('SP_ERR_BAD_REQUEST', `backfill '${clip(text)}' starts the ids of several backfills: ${ids.join(', ')}`, { hint: 'Give more of the id.' });
    const recent = newestBackfillsText(reg);
    throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no backfill '${clip(text)}' in ${ws.root}`, {
      hint: recent.length === 0 ? 'No backfill has run in this workspace: POST /backfills (or `stockpipe backfill --from D1 --to D2`) starts one.' : `GET /backfills lists them; the newest: ${recent.join('; ')}.`,
    });
  };

  app.get('/runs', {
    schema: {
      summary: 'Pipeline runs, newest first (paged), with per-status task counts and each run\'s tasks in plan order',
      querystring: {
        type: 'object',
        properties: {
          ...PAGED_BY_PIPELINE,
          status: { type: 'string', enum: [...PIPELINE_RUN_STATUSES] },
          backfill: { type: 'string', minLength: 1, maxLength: 100 },
        },
        additionalProperties: false,
      },
    },
  }, (req: FastifyRequest) => {
    const given = req.query as { limit: number; offset: number; pipeline?: string; status?: string; backfill?: string };
    return registry.read((reg) => {
      const q = given.backfill === undefined ? given : { ...given, backfill: backfillIdOf(reg, given.backfill) };
      const runs = listPipelineRuns(reg, q);
      const strips = taskStrips(reg, runs.map((r) => r.run_id));
      const total = countPipelineRuns(reg, q);
      if (total === 0) checkListedPipeline(reg, q.pipeline, 'pipeline');
      return { runs: runs.map((r) => ({ ...r, tasks: strips.get(r.run_id) ?? [] })), total, limit: q.limit, offset: q.offset };
    });
  });

  app.get('/backfills', {
    schema: {
      summary: 'Backfills (one pipeline run per NYSE trading day of a range), newest first, with their day counts; status running, finished, failed, cancelled, or abandoned (left running by a process that is gone)',
      querystring: {
        type: 'object',
        properties: {
          ...PAGED_BY_PIPELINE,
        },
        additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest) => {
    const q = req.query as { limit: number; offset: number; pipeline?: string };
    const list = registry.read((reg) => {
      const found = listBackfills(reg, q);
      if (found.length === 0) checkListedPipeline(reg, q.pipeline, 'pipeline');
      return found;
    });
    // A backfill killed (kill -9, power loss) stays stored 'running': it reads 'abandoned' once its process is gone (one
    // started before backfills recorded their process: once no live process holds the run lock).
    const live = !list.some((b) => b.status === 'running') || (await lockHolder(ws)) !== null;
    return { backfills: registry.read((reg) => backfillsAsRead(reg, list, live)), limit: q.limit, offset: q.offset };
  });

  app.get('/backfills/:id', { schema: { summary: 'One backfill with its days in date order (date, run_id, status, seconds)', params: idParams, querystring: NO_QUERY } }, async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const { b, recent } = registry.read((reg) => {
      const one = getBackfill(reg, id);
      return { b: one, recent: one === null ? newestBackfillsText(reg) : [] };
    });
    // Not the code's hint (`runs list`, which lists runs): what lists backfills.
    if (b === null) {
      throw new StockpipeError('SP_ERR_RUN_NOT_FOUND', `no backfill '${id}' in ${ws.root}`, {
        hint: recent.length === 0 ? 'No backfill has run in this workspace: POST /backfills (or `stockpipe backfill --from D1 --to D2`) starts one.' : `GET /backfills lists them; the newest: ${recent.join('; ')}.`,
      });
    }
    const live = b.status !== 'running' || (await lockHolder(ws)) !== null;
    return registry.read((reg) => backfillsAsRead(reg, [b], live)[0]!);
  });

  app.get('/runs/:id', { schema: { summary: 'One pipeline run with its tasks in plan order and its params', params: idParams, querystring: NO_QUERY } }, (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const run = registry.read((reg) => getPipelineRun(reg, id));
    if (run === null) throw registry.read((reg) => noPipelineRun(reg, ws.root, id));
    return run;
  });

  app.get('/runs/:id/logs/:task', { schema: { summary: 'A task\'s log file as text (its last 1 MiB when larger)', params: logParams, querystring: NO_QUERY } }, async (req: FastifyRequest, reply: FastifyReply) => {
    const { id, task } = req.params as { id: string; task: string };
    const file = await taskLogFile(ws, registry, id, task);
    const { text, cut } = await readTail(file, LOG_TAIL_BYTES);
    return reply.type('text/plain; charset=utf-8').header('x-log-truncated', cut ? '1' : '0').header('cache-control', 'no-cache').send(text);
  });

  app.get('/models/compare', {
    schema: {
      summary: 'Two model versions\' own-kind test metrics side by side (b − a, which is better)',
      querystring: { type: 'object', properties: { a: { type: 'string', minLength: 1, maxLength: 200 }, b: { type: 'string', minLength: 1, maxLength: 200 } }, required: ['a', 'b'], additionalProperties: false },
    },
  }, (req: FastifyRequest) => {
    const { a, b } = req.query as { a: string; b: string };
    // As `models compare --json`: with the tuning study each model's settings came from.
    return registry.read((reg) => compareWithStudies(reg, a, b));
  });

  app.post('/models/:id/promote', {
    schema: {
      summary: 'Move an alias (default champion) to this model when it beats the holder on the backtest (CV folds or validation window, never the test slice); force to promote anyway (recorded as forced)',
      params: idParams,
      querystring: NO_QUERY,
      body: {
        type: 'object',
        // alias: the registry's alias names, so a bad one is a 400 with issues.
        properties: { alias: { type: 'string', minLength: 1, maxLength: 64, pattern: ALIAS_NAME.source }, force: { type: 'boolean' }, note: { type: 'string', maxLength: NOTE_MAX_LENGTH, pattern: NOTE_TEXT, description: 'kept in the alias history; no control characters' } },
        additionalProperties: false,
      },
    },
    // Every field is optional: no body at all (`curl -X POST …/promote`) is {} (it was 400 "body must be object").
    preValidation: (req, _reply, done) => {
      if (req.body === undefined) req.body = {};
      done();
    },
  }, async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const body = req.body as { alias?: string; force?: boolean; note?: string };
    // registry/promote, as the CLI: the kind check, the holder re-scored on this model's CV folds
    // when the data grew (one DuckDB thread: the server keeps serving), not better → 409.
    const rescore = holderRescorer(workspaceData(ws.withResources({ threads: 1 })));
    // No alias: the model's family's champion (an unknown id is promote's 404).
    const alias = body.alias ?? championAliasOf(registry.read((r) => r.findModel(id))?.kind ?? 'gbdt');
    const reg = openRegistry(ws);
    let d;
    // A write, so a run, as `stockpipe models promote` records one (kind promote; a refusal or error fails it).
    try {
      d = await recordedApiWrite(reg, 'promote', `POST /models/${id}/promote`, { 'arg.id': id, 'option.alias': alias, 'option.force': body.force === true, ...(body.note === undefined ? {} : { 'option.note': body.note }) }, () =>
        promote(reg, id, alias, { force: body.force === true, trigger: 'manual', actor: 'dashboard', note: body.note, refuseIfNotBetter: true, rescore, loads: assertModelLoads }));
    } finally {
      reg.close();
    }
    if (d.promoted && alias === 'champion') await holder.refresh();
    return d;
  });

  app.get('/validation', { schema: { summary: 'The latest validation report and the reference schema and statistics (null when absent)', querystring: NO_QUERY } }, async () => {
    const [report, reference] = await Promise.all([readJsonOrNull(ws.latestValidation), readJsonOrNull(ws.currentReference('prices'))]);
    const errors = [report.error, reference.error].filter((e): e is string => e !== null);
    return { report: report.value, reference: reference.value, errors };
  });

  registerSeriesRoutes(app, { ws, holder, registry, table });
  registerStudyRoutes(app, registry);
  registerModelRoutes(app, { registry, table });
  registerControlRoutes(app, { ws, registry, control: opts.control });
  registerLogRoutes(app, { ws, registry });
  registerExportRoutes(app, { ws, registry });
  registerLineageRoutes(app, registry);
  registerTagRoutes(app, { ws });
  registerPredictionRoutes(app, { ws, registry });
  registerStatic(app, opts.assetsDir ?? defaultAssetsDir());
}
