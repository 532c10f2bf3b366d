/** @module dashboard/client/views/run-control
 * The Runs view's controls: start a run (pipeline, optional logical date, force) or a backfill, the
 * schedules with their next run, a run's Cancel / Resume buttons, and the search and download of a
 * task's log. Errors show the API's code (a run in progress: SP_ERR_PIPELINE_LOCKED); a 401 or 403
 * shows the API token field (kept in this tab's sessionStorage, as the promote dialog does). */
import { ApiError, apiToken, setApiToken, type RunDetails } from '../api.js';
import { cancelRun, getSchedules, logDownloadUrl, resumeRun, searchLog, startBackfill, startRun, type RunStarted } from '../api-control.js';
import { errorBox, h, mount, when } from '../dom.js';

/** The built-in pipelines (the server checks the name: SP_ERR_PIPELINE_UNKNOWN). */
const PIPELINES = ['train', 'daily'];
const SEARCH_LIMIT = 200;

/** The token field, shown once a POST was refused for want of it. */
export function tokenField(): HTMLElement {
  const input = h('input', { type: 'password', name: 'token', placeholder: 'API token', autocomplete: 'off', value: apiToken(), 'aria-label': 'API token' });
  input.addEventListener('change', () => setApiToken(input.value.trim()));
  return h('label', { class: 'token' }, 'API token ', input, h('small', { class: 'hint' }, ' kept for this tab only; then try again'));
}

/** Shows a POST's error; for 401/403 with the token field. */
export function showError(el: HTMLElement, err: unknown): void {
  const auth = err instanceof ApiError && (err.status === 401 || err.status === 403);
  mount(el, errorBox(err), auth ? tokenField() : null);
}

/** Runs `fn` with `button` disabled, its result or error in `out`. */
async function act<T>(button: HTMLButtonElement, out: HTMLElement, fn: () => Promise<T>, done: (r: T) => void): Promise<void> {
  button.disabled = true;
  mount(out, h('span', { class: 'hint' }, 'starting…'));
  try {
    done(await fn());
  } catch (err) {
    showError(out, err);
  } finally {
    button.disabled = false;
  }
}

const pipelineSelect = (name: string): HTMLSelectElement => h('select', { name, 'aria-label': 'pipeline' }, PIPELINES.map((p) => h('option', { value: p }, p)));

/** The "Start" card of #/runs: a run form, a backfill form and the schedules; `started` after a run or backfill began. */
export function controlPanel(signal: AbortSignal, started: (r: { run_id?: string; backfill_id?: string }) => void): HTMLElement {
  const out = h('div', { class: 'control-out', 'aria-live': 'polite' });
  const pipe = pipelineSelect('pipeline');
  const date = h('input', { type: 'date', name: 'date', 'aria-label': 'logical date (optional)' });
  const force = h('input', { type: 'checkbox', name: 'force' });
  const runBtn = h('button', { type: 'submit', class: 'primary', 'data-action': 'start-run' }, 'Run');
  const runForm = h('form', { class: 'control-form', 'data-form': 'run' }, h('strong', null, 'Run '), pipe, h('label', null, ' for ', date), h('label', null, force, ' force'), runBtn);
  runForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void act(runBtn, out, () => startRun(pipe.value, { date: date.value || undefined, force: force.checked }), (r: RunStarted) => {
      mount(out, h('span', { class: 'ok' }, 'Started '), h('a', { href: `#/runs/${encodeURIComponent(r.run_id)}`, 'data-run': r.run_id }, `${r.pipeline} run ${r.run_id.slice(0, 12)}`), ` (${r.status ?? 'starting'})`);
      started({ run_id: r.run_id });
    });
  });
  const bpipe = pipelineSelect('backfill-pipeline');
  bpipe.value = 'daily';
  const from = h('input', { type: 'date', name: 'from', required: true, 'aria-label': 'from' });
  const to = h('input', { type: 'date', name: 'to', required: true, 'aria-label': 'to' });
  const bfBtn = h('button', { type: 'submit', 'data-action': 'start-backfill' }, 'Backfill');
  const bfForm = h('form', { class: 'control-form', 'data-form': 'backfill' }, h('strong', null, 'Backfill '), bpipe, h('label', null, ' from ', from), h('label', null, ' to ', to), bfBtn);
  bfForm.addEventListener('submit', (e) => {
    e.preventDefault();
    void act(bfBtn, out, () => startBackfill(bpipe.value, from.value, to.value), (b) => {
      mount(out, h('span', { class: 'ok' }, 'Started '), h('a', { href: `#/runs?backfill=${encodeURIComponent(b.backfill_id)}` }, `backfill ${b.backfill_id.slice(0, 8)}`), ` of ${b.days} trading days`);
      started({ backfill_id: b.backfill_id });
    });
  });
  const sched = h('div', { class: 'schedules' });
  void getSchedules(signal).then((s) => {
    if (s.schedules.length === 0) {
      mount(sched, h('p', { class: 'hint' }, 'No schedules in the config ("schedules": see docs/pipelines.md).'));
      return;
    }
    mount(sched, h('table', { class: 'sched' }, h('thead', null, h('tr', null, ['Schedule', 'Cron', 'Next run (UTC)', 'Next run (local)', 'Last handled'].map((x) => h('th', null, x)))),
      h('tbody', null, s.schedules.map((x) => h('tr', { 'data-schedule': x.pipeline },
        h('td', null, x.pipeline), h('td', null, h('code', null, x.cron), ` ${x.timezone}${x.trading_days_only ? ' · trading days' : ''}`),
        h('td', null, x.error ? h('span', { class: 'warn' }, x.error) : when(x.next_run)), h('td', null, x.next_run_local ?? '–'), h('td', null, x.last_handled ? when(x.last_handled) : '–'))))));
  }).catch((err: unknown) => { if (!signal.aborted) mount(sched, errorBox(err)); });
  return h('div', { class: 'card control' }, runForm, bfForm, out, sched);
}

/** Cancel (a running run) or Resume (failed, cancelled, abandoned) for the run page; `changed` after either. */
export function runActions(run: RunDetails, changed: () => void): HTMLElement | null {
  const out = h('span', { class: 'control-out', 'aria-live': 'polite' });
  let button: HTMLButtonElement;
  if (run.status === 'running') {
    button = h('button', { type: 'button', 'data-action': 'cancel-run' }, 'Cancel run');
    button.addEventListener('click', () => {
      if (!confirm(`Cancel run ${run.run_id.slice(0, 12)} (${run.pipeline})? Running tasks are stopped; finished ones are kept, and the run can be resumed.`)) return;
      void act(button, out, () => cancelRun(run.run_id), () => { mount(out, h('span', { class: 'hint' }, 'cancelling…')); changed(); });
    });
  } else if (run.status === 'failed' || run.status === 'cancelled' || run.status === 'abandoned') {
    button = h('button', { type: 'button', 'data-action': 'resume-run' }, 'Resume run');
    button.addEventListener('click', () => {
      void act(button, out, () => resumeRun(run.run_id), () => { mount(out, h('span', { class: 'ok' }, 'resumed')); changed(); });
    });
  } else return null;
  return h('div', { class: 'run-actions' }, button, ' ', out);
}

/** Highlights each case-insensitive occurrence of `q` in `text`. */
function marked(text: string, q: string): (Node | string)[] {
  const out: (Node | string)[] = [];
  const lower = text.toLowerCase();
  const needle = q.toLowerCase();
  let i = 0;
  for (let j = lower.indexOf(needle); j >= 0 && needle !== ''; j = lower.indexOf(needle, i)) {
    out.push(text.slice(i, j), h('mark', null, text.slice(j, j + needle.length)));
    i = j + needle.length;
  }
  out.push(text.slice(i));
  return out;
}

/** The search box and download link above a task's log; matches from the whole file (the text below is its tail). */
export function logTools(runId: string, task: string, signal: AbortSignal): HTMLElement {
  const input = h('input', { type: 'search', name: 'log-q', placeholder: 'search the whole log', 'aria-label': 'search the log', maxlength: 200 });
  const results = h('div', { class: 'log-matches', 'aria-live': 'polite' });
  const form = h('form', { class: 'log-tools' }, input, h('button', { type: 'submit', 'data-action': 'search-log' }, 'Search'), ' ',
    h('a', { href: logDownloadUrl(runId, task), download: `${runId}-${task}.log`, 'data-action': 'download-log' }, 'Download full log'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const q = input.value.trim();
    if (q === '') return mount(results);
    mount(results, h('p', { class: 'hint' }, 'searching…'));
    searchLog(runId, task, q, SEARCH_LIMIT, signal).then((r) => {
      const head = `${r.matches.length}${r.more ? '+' : ''} matching line${r.matches.length === 1 ? '' : 's'} of ${r.more ? 'the first ' : ''}${r.lines_read.toLocaleString('en-US')}${r.more ? ` lines (showing the first ${SEARCH_LIMIT})` : ' lines'}`;
      mount(results, h('p', { class: 'hint', 'data-matches': r.matches.length }, head),
        r.matches.length ? h('pre', { class: 'logtext matches' }, r.matches.map((m) => h('div', { class: 'match' }, h('span', { class: 'ln' }, `${m.line}`), ' ', marked(m.text, q), m.cut ? ' …' : ''))) : null);
    }).catch((err: unknown) => { if (!signal.aborted) mount(results, errorBox(err)); });
  });
  return h('div', null, form, results);
}
