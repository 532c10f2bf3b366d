/** @module pipeline/plan
 * `--dry-run`: what a run would do, without running anything: for each task in order, whether it
 * would run or be cached (and why), from the current files, the cache and the last results. */
import { StockpipeError } from '../core/errors.js';
import type { Workspace } from '../core/workspace.js';
import { cacheLookup, latestTaskResult } from '../registry/pipeline.js';
import type { Registry } from '../registry/store.js';
import { sliceNames, topoOrder } from './graph.js';
import { cacheKey, FileHasher } from './hash.js';
import { keptOnResume, resumableRun, resumedSlice, storedList } from './prepare.js';
import { keyParams } from './runner.js';
import type { Pipeline, TaskSummary } from './types.js';

export interface PlannedTask {
  name: string;
  deps: string[];
  action: 'run' | 'cached' | 'skip';
  reason: string;
}

/** `resume`: the run a resume would continue (checked as the resume checks it): its kept tasks are planned as kept, with its --force. */
export async function planPipeline(opts: { ws: Workspace; pipeline: Pipeline; registry: Registry; force?: boolean; forceTasks?: readonly string[]; from?: string; to?: string; logicalDate?: string; resume?: string }): Promise<PlannedTask[]> {
  const resumed = opts.resume === undefined ? null : resumableRun(opts.registry, opts.resume, opts.pipeline.name, opts.logicalDate, { from: opts.from, to: opts.to });
  const force = opts.force === true || resumed?.params.force === 'true';
  const forceTasks = [...(opts.forceTasks ?? []), ...storedList(resumed?.params.force_tasks)];
  // A resumed run keeps its own logical date (its dated tasks' cache keys hold it).
  const logicalDate = resumed === null ? (opts.logicalDate ?? null) : resumed.logical_date;
  const order = topoOrder(opts.pipeline.tasks);
  // A resume plans the run's own slice (resumableRun refused another --from/--to).
  const slice = resumed === null ? sliceNames(order, { from: opts.from, to: opts.to, forceTasks }) : resumedSlice(order, resumed, forceTasks);
  const hasher = new FileHasher(opts.ws);
  const summaries: Record<string, TaskSummary> = {};
  const actions = new Map<string, PlannedTask['action']>();
  const out: PlannedTask[] = [];
  for (const t of order) {
    const prev = latestTaskResult(opts.registry, opts.pipeline.name, t.name);
    if (prev?.summary) summaries[t.name] = prev.summary;
    const deps = [...(t.deps ?? [])];
    const add = (action: PlannedTask['action'], reason: string): void => {
      actions.set(t.name, action);
      out.push({ name: t.name, deps, action, reason });
    };
    const kept = resumed?.tasks.find((r) => r.task === t.name);
    if (kept !== undefined && keptOnResume(kept)) { add('cached', `kept from run ${resumed!.run_id} (${kept.status})`); continue; }
    if (!slice.has(t.name)) { add('skip', 'outside --from/--to'); continue; }
    if (t.cache === 'never') { add('run', 'always runs (decides itself whether anything changed)'); continue; }
    if (force || forceTasks.includes(t.name)) { add('run', 'forced'); continue; }
    const upstreamRuns = deps.filter((d) => actions.get(d) === 'run');
    let key: string;
    try {
      const files = typeof t.inputs === 'function' ? t.inputs(summaries) : (t.inputs ?? []);
      const inputs = await Promise.all(files.map((p) => hasher.hash(opts.ws.path(p))));
      key = cacheKey(opts.ws, { task: t.name, version: t.version, params: keyParams(t, summaries, logicalDate), inputs });
    } catch (err) {
      if (!(err instanceof StockpipeError)) throw err;
      add('run', upstreamRuns.length > 0 ? `inputs come from ${upstreamRuns.join(', ')}` : `inputs not there yet (${err.code})`);
      continue;
    }
    const hit = cacheLookup(opts.registry, t.name, key);
    if (hit === null) { add('run', upstreamRuns.length > 0 ? `inputs may change (${upstreamRuns.join(', ')} runs)` : 'inputs, params or code version changed'); continue; }
    add('cached', upstreamRuns.length > 0 ? `cached unless ${upstreamRuns.join(', ')} changes its outputs` : `unchanged since run ${hit.run_id}`);
  }
  return out;
}
