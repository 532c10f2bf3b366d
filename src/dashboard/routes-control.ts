/** @module dashboard/routes-control
 * Run control from the dashboard (docs/api.md): POST /runs (a new run, as `stockpipe run P
 * [--date D] [--force]`), POST /runs/:id/resume (`run P --resume ID`), POST /backfills (`backfill P
 * --from --to`), each started as a detached CLI child (dashboard/launch) whose run or backfill id
 * is answered once the store has it; POST /runs/:id/cancel (pipeline/cancel-run, as `stockpipe runs
 * cancel`: SIGTERM to the run's own runner, what Ctrl-C does); GET /schedules (the config's schedules with their next fire time,
 * croner as the scheduler). The POSTs sit behind serve/auth's guard like every mutating route.
 * The runner, the lock and the backfill logic stay the CLI's: a run already in progress answers
 * with the runner's own SP_ERR_PIPELINE_LOCKED. */
import { checkNoBody, NO_QUERY } from '../http/validation.js';
import { hostname } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CODES, StockpipeError } from '../core/errors.js';
import { readFileOrNull, statOrNull } from '../core/fs.js';
import { layout, type Workspace } from '../core/workspace.js';
import { pipelineName } from '../pipeline/builtin/index.js';
import { cancelRun } from '../pipeline/cancel-run.js';
import { inUse, lockHolder } from '../pipeline/lock.js';
import { backfillDays, checkLogicalDate, type RangeNames } from '../pipeline/logical-date.js';
import { localDate, nextOccurrence, scheduleKey, schedulerStateProblem, type Schedule } from '../pipeline/schedule.js';
import { getPipelineRun } from '../registry/pipeline.js';
import type { RegistryReader } from '../registry/reader.js';
import type { Registry } from '../registry/store.js';
import { type ChildIdentity, launchCli, type LaunchOptions } from './launch.js';
import { noPipelineRun } from './run-not-found.js';

/** What the server needs to start runs (from cli/serve): how to start the CLI, and the config's schedules. */
export interface ControlOptions extends LaunchOptions {
  schedules: Schedule[];
}

const runParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 100 } }, required: ['id'] } as const;
const DATE = { type: 'string', minLength: 1, maxLength: 40 } as const;
const PIPELINE = { type: 'string', minLength: 1, maxLength: 100 } as const;
/** What the OpenAPI document says of a route that answers 202 (the fields each route's summary names, all passed through). */
const accepted = (description: string) => ({ response: { 202: { description, type: 'object', additionalProperties: true } } }) as const;

/** POST /backfills' range in the checks' errors: the request's fields (the dashboard form's from and to), not the CLI's --from/--to. */
const RANGE_FIELDS: RangeNames = { from: '"from"', to: '"to"' };

/** The CLI's date checks, with a malformed date or range as the API's 400 SP_ERR_BAD_REQUEST instead of a usage
 * error; its hint kept when it is the check's own (the CLI's generic one points at --help). */
function asRequestError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof StockpipeError && err.code === 'SP_ERR_USAGE') {
      throw new StockpipeError('SP_ERR_BAD_REQUEST', err.message, { hint: err.hint === ERROR_CODES.SP_ERR_USAGE.hint ? 'Dates are YYYY-MM-DD (NYSE trading days, not after today in New York).' : err.hint });
    }
    throw err;
  }
}

/**
 * SP_ERR_PIPELINE_LOCKED before a launch while a live run holds the workspace, hinted for a request: the launched
 * command's own error hints `--wait`, which a request has not. A lock taken between this look and the launch still
 * fails as that command says.
 */
async function refuseWhileLocked(ws: Workspace): Promise<void> {
  const holder = await lockHolder(ws);
  if (holder === null) return;
  throw new StockpipeError('SP_ERR_PIPELINE_LOCKED', inUse(ws, holder), {
    hint: `Wait for that run to finish (GET /runs shows it), or cancel it (POST /runs/:id/cancel), then try again; ${ws.runLock} is taken over automatically once process ${holder.pid} is gone.`,
  });
}

/** The newest pipeline run whose recorded runner is this child (params runner_pid, runner_start). */
function runOf(reg: Registry, child: ChildIdentity): { run_id: string; backfill_id: string | null } | null {
  return reg.get<{ run_id: string; backfill_id: string | null }>('find launched run',
    `SELECT r.run_id, r.backfill_id FROM runs r
     JOIN params p ON p.run_id = r.run_id AND p.key = 'runner_pid' AND p.value = @pid
     JOIN params h ON h.run_id = r.run_id AND h.key = 'runner_host' AND h.value = @host
     LEFT JOIN params s ON s.run_id = r.run_id AND s.key = 'runner_start'
     WHERE r.kind = 'pipeline' AND s.value IS @start ORDER BY r.started_at DESC, r.rowid DESC LIMIT 1`,
    { pid: String(child.pid), host: hostname(), start: child.start }) ?? null;
}

function notLaunchable(): never {
  throw new StockpipeError('SP_ERR_LAUNCH_FAILED', 'this server was started without the CLI to launch runs with (not by `stockpipe serve`)', { hint: 'Start the server with `stockpipe serve`, or run the command in a terminal.' });
}

/** One run's answer: its id and state as stored now. */
function runAnswer(registry: RegistryReader, runId: string, pid: number): Record<string, unknown> {
  const run = registry.read((reg) => getPipelineRun(reg, runId));
  return { run_id: runId, pipeline: run?.pipeline ?? null, status: run?.status ?? null, logical_date: run?.logical_date ?? null, backfill_id: run?.backfill_id ?? null, pid };
}

export function registerControlRoutes(app: FastifyInstance, o: { ws: Workspace; registry: RegistryReader; control?: ControlOptions; now?: () => Date }): void {
  const { ws, registry, control } = o;
  const now = o.now ?? ((): Date => new Date());

  app.post('/runs', {
    schema: {
      ...accepted('The run was started and stored: its run id, pipeline and the launched process'),
      summary: 'Start a pipeline run as `stockpipe run PIPELINE [--date D] [--force]` in a detached process; answers 202 with its run id once the run is stored (409 SP_ERR_PIPELINE_LOCKED while another run holds the workspace)',
      querystring: NO_QUERY,
      body: { type: 'object', properties: { pipeline: PIPELINE, date: DATE, force: { type: 'boolean' } }, required: ['pipeline'], additionalProperties: false },
    },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body as { pipeline: string; date?: string; force?: boolean };
    const pipeline = pipelineName(body.pipeline, 'pipeline');
    const date = body.date === undefined ? undefined : asRequestError(() => checkLogicalDate('date', body.date!, now()));
    if (control === undefined) notLaunchable();
    await refuseWhileLocked(ws);
    const args = ['run', pipeline, ...(date ? ['--date', date] : []), ...(body.force === true ? ['--force'] : [])];
    const got = await launchCli(ws, control, args, (child) => registry.read((reg) => runOf(reg, child)));
    const runId = got.found?.run_id ?? String(got.data?.run_id ?? '');
    return reply.code(202).send(runAnswer(registry, runId, got.pid));
  });

  app.post('/runs/:id/resume', {
    schema: {
      ...accepted('The run was resumed: its run id and the launched process'),
      summary: 'Continue a failed, cancelled or abandoned run in the same run id, as `stockpipe run PIPELINE --resume ID` in a detached process (202); a finished or live run is 409 SP_ERR_RUN_NOT_RESUMABLE',
      params: runParams, querystring: NO_QUERY,
    },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    checkNoBody(req);
    const { id } = req.params as { id: string };
    const run = registry.read((reg) => getPipelineRun(reg, id));
    if (run === null) throw registry.read((reg) => noPipelineRun(reg, ws.root, id));
    if (run.status === 'finished' || run.status === 'running') {
      throw new StockpipeError('SP_ERR_RUN_NOT_RESUMABLE', `run ${id} (${run.pipeline}) is ${run.status === 'finished' ? 'finished' : `still running (runner pid ${run.params.runner_pid ?? '?'})`}: there is nothing to resume`,
        { hint: run.status === 'finished' ? `Start a new run of ${run.pipeline} (unchanged tasks are cached).` : 'Cancel it first (POST /runs/:id/cancel), then resume it.' });
    }
    if (control === undefined) notLaunchable();
    await refuseWhileLocked(ws);
    const got = await launchCli(ws, control, ['run', run.pipeline, '--resume', id], (child) => registry.read((reg) => {
      const r = runOf(reg, child);
      return r !== null && r.run_id === id ? r : null;
    }));
    return reply.code(202).send({ ...runAnswer(registry, id, got.pid), resumed: true });
  });

  app.post('/runs/:id/cancel', {
    schema: {
      ...accepted('The runner was signalled: status cancelling'),
      summary: 'Cancel a running run: SIGTERM to its runner process (as Ctrl-C: its tasks are stopped, the run is marked cancelled and stays resumable; a backfill\'s run stops its backfill). 202; a run that is not running here is 409 SP_ERR_RUN_NOT_RUNNING',
      params: runParams, querystring: NO_QUERY,
    },
  }, (req: FastifyRequest, reply: FastifyReply) => {
    checkNoBody(req);
    const { id } = req.params as { id: string };
    const run = registry.read((reg) => getPipelineRun(reg, id));
    if (run === null) throw registry.read((reg) => noPipelineRun(reg, ws.root, id));
    const sent = cancelRun(run);
    req.log.info({ run: id, runner: sent.pid }, 'run cancelled from the dashboard');
    return reply.code(202).send({ ...sent, status: 'cancelling' });
  });

  app.post('/backfills', {
    schema: {
      ...accepted('The backfill was started and stored: its id, pipeline, range, days and the launched process'),
      summary: 'Start a backfill as `stockpipe backfill PIPELINE --from D1 --to D2 [--force] [--continue-on-failure]` in a detached process; 202 with its backfill id once stored',
      querystring: NO_QUERY,
      body: {
        type: 'object',
        properties: { pipeline: PIPELINE, from: DATE, to: DATE, force: { type: 'boolean' }, continue_on_failure: { type: 'boolean' } },
        required: ['pipeline', 'from', 'to'], additionalProperties: false,
      },
    },
  }, async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body as { pipeline: string; from: string; to: string; force?: boolean; continue_on_failure?: boolean };
    const pipeline = pipelineName(body.pipeline, 'pipeline');
    const days = asRequestError(() => backfillDays(body.from, body.to, now(), RANGE_FIELDS));
    if (control === undefined) notLaunchable();
    await refuseWhileLocked(ws);
    const args = ['backfill', pipeline, '--from', body.from, '--to', body.to, ...(body.force === true ? ['--force'] : []), ...(body.continue_on_failure === true ? ['--continue-on-failure'] : [])];
    const got = await launchCli(ws, control, args, async (child) => {
      // A day's run names it; before the first one, the backfill row is found while the child holds the lock.
      const r = registry.read((reg) => runOf(reg, child));
      if (r?.backfill_id) return r.backfill_id;
      const holder = await lockHolder(ws);
      if (holder === null || holder.pid !== child.pid || (holder.start ?? null) !== child.start) return null;
      return registry.read((reg) => reg.get<{ backfill_id: string }>('find launched backfill',
        "SELECT backfill_id FROM backfills WHERE pipeline = ? AND date_from = ? AND date_to = ? AND status = 'running' ORDER BY started_at DESC, rowid DESC LIMIT 1", [pipeline, body.from, body.to])?.backfill_id ?? null);
    });
    const backfillId = got.found ?? String(got.data?.backfill_id ?? '');
    return reply.code(202).send({ backfill_id: backfillId, pipeline, from: body.from, to: body.to, days: days.length, pid: got.pid });
  });

  app.get('/schedules', { schema: { summary: 'The config\'s schedules (docs/pipelines.md) with their next fire time (croner, NYSE trading days when asked) and the last occurrence the scheduler handled', querystring: NO_QUERY } }, async () => {
    const at = now();
    // A state file the scheduler would refuse (SP_ERR_CONFIG_INVALID) is shown as state_error with the answer; stat
    // first: a folder there would throw EISDIR (a 500), and reading a FIFO would wait for a writer forever.
    const st = await statOrNull(ws.schedulerState);
    const stateText = st === null || !st.isFile() ? null : await readFileOrNull(ws.schedulerState);
    let state: Record<string, string> = {};
    // Named as the other answers name the workspace's files (docs/api.md), never by its absolute path.
    const shown = `<workspace>/${layout.schedulerState}`;
    let stateError: string | null = st !== null && !st.isFile() ? `${shown}: not a regular file` : null;
    try {
      const parsed: unknown = stateText === null ? {} : JSON.parse(stateText);
      const bad = schedulerStateProblem(parsed);
      if (bad === null) state = parsed as Record<string, string>;
      else stateError = `${shown}: ${bad}`;
    } catch (err) {
      stateError = `${shown}: not valid JSON (${(err as Error).message})`;
    }
    const schedules = (control?.schedules ?? []).map((s) => {
      let next: Date | null = null;
      let error: string | null = null;
      try {
        next = nextOccurrence(s, at);
      } catch (err) {
        error = (err as Error).message;
      }
      return { ...s, next_run: next?.toISOString() ?? null, next_run_local: next ? `${localDate(next, s.timezone)} ${next.toLocaleTimeString('en-GB', { timeZone: s.timezone, hour: '2-digit', minute: '2-digit' })}` : null, last_handled: state[scheduleKey(s)] ?? null, error };
    });
    return { now: at.toISOString(), schedules, state_error: stateError };
  });
}
