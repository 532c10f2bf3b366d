/** @module dashboard/client/views/runs
 * #/runs: the newest run's task graph and a paged, filterable list of pipeline runs (each with its
 * logical date and backfill; #/runs?backfill=<id>: one backfill's runs under its day counts);
 * #/runs/<id>: one run's graph, its tasks, and a task's log on click. Polls every 2 s while a run
 * is running (every 10 s otherwise, to notice new runs and finished ones). Run control (start, backfill,
 * schedules, cancel, resume, log search) is ./run-control's; the timeline (#/runs/<id>?view=gantt) ./gantt's. */
import { getJson, getText, type BackfillDetails, type RunDetails, type RunSummary, type TaskRun, type TaskStatus } from '../api.js';
import { badge, dur, empty, errorBox, h, int, mount, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { drawDag, runEdges } from './dag.js';
import { drawGantt } from './gantt.js';
import { controlPanel, logTools, runActions } from './run-control.js';

const PAGE = 25;
const STATUSES = ['', 'running', 'finished', 'failed', 'cancelled', 'abandoned'];
const TASK_ORDER: TaskStatus[] = ['succeeded', 'cached', 'retried', 'running', 'queued', 'failed', 'skipped', 'cancelled'];

/** A run's tasks as a row of small boxes in plan order (status colour; cached ⟲, retried ↻). */
function strip(r: RunSummary): HTMLElement {
  return h('span', { class: 'strip', 'aria-label': 'tasks' }, (r.tasks ?? []).map((t) => h('span', {
    class: `cell s-${t.status}`, title: `${t.task}: ${t.status}${t.attempts > 1 ? ` (${t.attempts} attempts)` : ''} · ${dur(t.seconds)}`,
  }, t.status === 'cached' ? '⟲' : t.attempts > 1 ? '↻' : '')));
}

function counts(c: RunSummary['task_counts']): HTMLElement {
  return h('span', { class: 'counts' }, TASK_ORDER.filter((s) => (c[s] ?? 0) > 0).map((s) => h('span', { class: `chip s-${s}`, title: s }, `${c[s]} ${s}`)));
}

export async function runsView(ctx: ViewContext): Promise<void> {
  if (ctx.params[0] !== undefined) return runView(ctx, ctx.params[0]);
  let offset = Math.max(0, Number(ctx.query.get('offset')) || 0);
  let status = ctx.query.get('status') ?? '';
  const backfill = ctx.query.get('backfill') ?? '';
  const latestEl = h('div', { class: 'card' });
  const backfillEl = h('div');
  const listEl = h('div');
  // load() from a click or a started run: its error shows in the list, and a view left meanwhile
  // (its requests aborted) is no error — unhandled, the abort was a page error.
  const reload = (): void => { load().catch((err: unknown) => { if (!ctx.signal.aborted) mount(listEl, errorBox(err)); }); };
  const select = h('select', { 'aria-label': 'status filter', onchange: () => { status = select.value; offset = 0; ctx.setQuery({ status, offset: null }); reload(); } },
    STATUSES.map((s) => h('option', { value: s, ...(s === status ? { selected: true } : {}) }, s === '' ? 'all statuses' : s)));
  // A run or backfill started here shows up at once, then every 2 s until it ends (the poll below).
  const control = controlPanel(ctx.signal, () => { running = true; reload(); });
  mount(ctx.el, h('h1', null, 'Pipeline runs'), control, backfillEl, latestEl, h('div', { class: 'toolbar' }, h('label', null, 'Show ', select)), listEl);
  let latestId: string | null = null;
  let running = false;

  async function load(): Promise<void> {
    const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (status) q.set('status', status);
    if (backfill) {
      q.set('backfill', backfill);
      const b = await getJson<BackfillDetails>(`/backfills/${encodeURIComponent(backfill)}`, ctx.signal);
      mount(backfillEl, h('div', { class: 'card' }, h('h2', null, `Backfill ${b.pipeline} ${b.date_from} .. ${b.date_to} `, badge(b.status)),
        h('p', { class: 'meta' }, `${int(b.days_total)} trading days: ${int(b.days_succeeded)} run, ${int(b.days_skipped)} skipped (finished before), ${int(b.days_failed)} failed · started ${when(b.started_at)} · `,
          h('a', { href: '#/runs' }, 'all runs')), b.error ? errorBox({ message: b.error }) : null));
    }
    const [page, newest] = await Promise.all([
      getJson<{ runs: RunSummary[]; total: number }>(`/runs?${q}`, ctx.signal),
      getJson<{ runs: RunSummary[]; total: number }>('/runs?limit=1', ctx.signal),
    ]);
    running = page.runs.some((r) => r.status === 'running') || newest.runs[0]?.status === 'running';
    const top = newest.runs[0];
    if (top === undefined) mount(latestEl, empty('No pipeline runs yet', 'Run `stockpipe run train` to start one; it appears here while it runs.'));
    else if (top.run_id !== latestId || top.status === 'running' || latestEl.dataset.status !== top.status) {
      latestId = top.run_id;
      latestEl.dataset.status = top.status;
      const d = await getJson<RunDetails>(`/runs/${encodeURIComponent(top.run_id)}`, ctx.signal);
      mount(latestEl, h('h2', null, 'Latest: ', h('a', { href: `#/runs/${encodeURIComponent(d.run_id)}` }, d.pipeline), ' ', badge(d.status), h('small', null, ` ${when(d.started_at)} · ${dur(d.seconds)}`)),
        h('div', { class: 'dag-wrap' }, drawDag(d.tasks, runEdges(d.tasks, d.params), { width: latestEl.clientWidth - 32, onSelect: (t) => { location.hash = `#/runs/${encodeURIComponent(d.run_id)}?task=${encodeURIComponent(t)}`; } })));
    }
    if (page.total === 0) {
      mount(listEl, empty(status ? `No ${status} runs` : 'No runs'));
      return;
    }
    if (page.runs.length === 0) {
      // A page past the end (an old link, runs removed): say so, and offer the first page.
      mount(listEl, empty(`No runs on this page: there are ${int(page.total)}`), h('div', { class: 'pager' },
        h('button', { type: 'button', onclick: () => { offset = 0; ctx.setQuery({ offset: null }); reload(); } }, '« Newest runs')));
      return;
    }
    const rows = page.runs.map((r) => [
      h('a', { href: `#/runs/${encodeURIComponent(r.run_id)}` }, r.run_id.slice(0, 12)), r.pipeline, r.logical_date ?? '',
      r.backfill_id ? h('a', { href: `#/runs?backfill=${encodeURIComponent(r.backfill_id)}`, title: `backfill ${r.backfill_id}` }, r.backfill_id.slice(0, 8)) : '',
      badge(r.status), when(r.started_at), dur(r.seconds), h('span', { class: 'taskcell' }, strip(r), counts(r.task_counts)),
    ]);
    const last = Math.min(offset + PAGE, page.total);
    const go = (o: number): void => { offset = o; ctx.setQuery({ offset: o > 0 ? String(o) : null }); reload(); };
    mount(listEl, table(['Run', 'Pipeline', 'Logical date', 'Backfill', 'Status', 'Started (UTC)', 'Duration', 'Tasks'], rows, { numeric: [6] }),
      h('div', { class: 'pager' },
        h('button', { type: 'button', ...(offset === 0 ? { disabled: true } : {}), onclick: () => go(Math.max(0, offset - PAGE)) }, '‹ Newer'),
        h('span', null, `${int(offset + 1)}–${int(last)} of ${int(page.total)}`),
        h('button', { type: 'button', ...(last >= page.total ? { disabled: true } : {}), onclick: () => go(offset + PAGE) }, 'Older ›')));
  }

  await load();
  ctx.ready();
  let ticks = 0;
  ctx.every(2000, async () => {
    ticks++;
    if (running || ticks % 5 === 0) await load();
  });
}

async function runView(ctx: ViewContext, id: string): Promise<void> {
  const head = h('div');
  const graph = h('div', { class: 'card dag-wrap' });
  const tasksEl = h('div');
  const logEl = h('div', { class: 'card log' });
  let mode = ctx.query.get('view') === 'gantt' ? 'gantt' : 'graph';
  const modes = h('div', { class: 'toolbar modes', role: 'group', 'aria-label': 'show the run as' }, (['graph', 'gantt'] as const).map((m) => h('button', {
    type: 'button', 'data-mode': m, 'aria-pressed': String(mode === m), onclick: () => { mode = m; ctx.setQuery({ view: m === 'gantt' ? m : null }); draw(); },
  }, m === 'graph' ? 'Graph' : 'Timeline')));
  mount(ctx.el, h('p', null, h('a', { href: '#/runs' }, '← all runs')), head, modes, graph, tasksEl, logEl);
  let selected = ctx.query.get('task') ?? undefined;
  let run: RunDetails;

  /** Shows a task's log; `refresh` (live updates) replaces the text without a loading state. */
  async function showLog(task: string, refresh = false): Promise<void> {
    selected = task;
    const t = run.tasks.find((x) => x.task === task);
    if (!refresh) {
      ctx.setQuery({ task });
      mount(logEl, h('h2', null, `Log: ${task}`), h('p', null, 'loading…'));
      draw();
    }
    if (!t?.log_path) {
      mount(logEl, h('h2', null, `Log: ${task}`), empty('No log for this task', t ? `status ${t.status}` : 'unknown task'));
      return;
    }
    try {
      const text = await getText(`/runs/${encodeURIComponent(id)}/logs/${encodeURIComponent(task)}`, ctx.signal);
      // A live refresh keeps the search box and its results; only the text is replaced.
      const pre = logEl.querySelector<HTMLElement>('pre.logtext:not(.matches)');
      if (refresh && pre && logEl.dataset.task === task) pre.textContent = text || '(empty)';
      else {
        logEl.dataset.task = task;
        mount(logEl, h('h2', null, `Log: ${task}`), logTools(id, task, ctx.signal), h('pre', { class: 'logtext' }, text || '(empty)'));
      }
    } catch (err) {
      mount(logEl, h('h2', null, `Log: ${task}`), errorBox(err));
    }
  }

  /** Where a task ran (executor bullmq): its worker, or how many workers ran its partitions (each listed in the tooltip). */
  function workerCell(t: TaskRun): HTMLElement | string {
    const ws = t.workers ?? [];
    if (ws.length === 0) return '';
    const lines = ws.map((w) => `${w.partition === null ? '' : `[${w.partition}] `}${w.worker} (${w.host}, pid ${w.pid}) ${dur(w.seconds)}${w.claims !== undefined && w.claims > 1 ? `, redelivered ×${w.claims - 1}` : ''}`).join('\n');
    const distinct = new Set(ws.map((w) => w.worker)).size;
    return h('span', { title: lines, class: 'worker' }, ws.length === 1 ? ws[0]!.worker : `${ws.length} partitions on ${distinct} worker${distinct === 1 ? '' : 's'}`);
  }

  function draw(): void {
    mount(head, h('h1', null, run.pipeline, ' ', badge(run.status)),
      h('p', { class: 'meta' }, `run ${run.run_id}${run.logical_date ? ` · for ${run.logical_date}` : ''} · started ${when(run.started_at)} · ${dur(run.seconds)}`,
        run.backfill_id ? h('span', null, ' · ', h('a', { href: `#/runs?backfill=${encodeURIComponent(run.backfill_id)}` }, `backfill ${run.backfill_id.slice(0, 8)}`)) : null, ' · ', h('a', { href: `#/lineage/run/${encodeURIComponent(run.run_id)}`, class: 'lineage-link' }, 'lineage')), run.error ? errorBox({ message: run.error }) : null,
      runActions(run, () => { refresh().catch((err: unknown) => { if (!ctx.signal.aborted) mount(tasksEl, errorBox(err)); }); }));
    for (const b of modes.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b.dataset.mode === mode));
    // A redraw replaces the graph's nodes: keyboard focus on one of them moves to its replacement.
    const focused = (document.activeElement as Element | null)?.closest?.('[data-task]');
    const focusedTask = focused !== null && focused !== undefined && graph.contains(focused) ? focused.getAttribute('data-task') : null;
    mount(graph, mode === 'gantt'
      ? drawGantt(run.tasks, { runStartedAt: run.started_at, runEndedAt: run.ended_at, width: graph.clientWidth - 32, onSelect: (t) => void showLog(t) })
      : drawDag(run.tasks, runEdges(run.tasks, run.params), { width: graph.clientWidth - 32, selected, onSelect: (t) => void showLog(t) }));
    if (focusedTask !== null) (graph.querySelector(`[data-task="${CSS.escape(focusedTask)}"]`) as HTMLElement | SVGElement | null)?.focus();
    mount(tasksEl, table(['#', 'Task', 'Status', 'Attempts', 'Duration', 'Rows in', 'Rows out', 'Worker', 'Error'],
      run.tasks.map((t) => [t.position + 1, h('a', { href: '#', onclick: (e: Event) => { e.preventDefault(); void showLog(t.task); } }, t.task),
        h('span', null, badge(t.status), t.attempts > 1 && t.status !== 'retried' ? badge(`retried ×${t.attempts - 1}`, 'retried') : null), t.attempts, dur(t.seconds), int(t.rows_in), int(t.rows_out), workerCell(t), t.error_code ? h('code', { title: t.error ?? '' }, t.error_code) : '']),
      { numeric: [0, 3, 4, 5, 6], rowAttrs: (i) => ({ class: run.tasks[i]!.task === selected ? 'selected' : null }) }));
  }

  /** Reads the run again (after a cancel or resume from this page, and while it runs). */
  async function refresh(): Promise<void> {
    run = await getJson<RunDetails>(`/runs/${encodeURIComponent(id)}`, ctx.signal);
    draw();
    if (selected) await showLog(selected, true);
  }

  run = await getJson<RunDetails>(`/runs/${encodeURIComponent(id)}`, ctx.signal);
  draw();
  if (selected) await showLog(selected);
  else mount(logEl, h('p', { class: 'hint' }, 'Click a task to see its log.'));
  ctx.ready();
  ctx.every(2000, async () => {
    if (run.status !== 'running') return;
    await refresh();
  });
}
