/** @module dashboard/client/views/studies
 * #/studies: tuning studies (`stockpipe tune`), newest first; #/studies/<id>: one study's trials
 * table (each trial at its highest rung, the choice starred) and its rung-0 score against each
 * parameter as small dot plots (higher dot = lower score). Read-only: GET /studies, GET /studies/:id. */
import { getJson } from '../api.js';
import { badge, dur, empty, h, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';

interface Study { study_id: string; name: string; task: string; metric: string; state: string; folds: number; seed: number; created_at: string; best_trial: number | null; seconds: number; settings: { rungs?: { budget: number; trials: number }[] } }
interface Trial { number: number; params: Record<string, number | string | null>; state: string; rung: number; budget: number; score: number | null; best_iteration: number | null; seconds: number; error: string | null }
interface StudyView { study: Study; trials: Trial[]; best: Trial | null; score_by_param: Record<string, [number | string | null, number][]> }

const PARAMS = ['learning_rate', 'num_leaves', 'max_depth', 'min_data_in_leaf', 'lambda_l2', 'window_years', 'half_life_days', 'patience', 'objective', 'huber_delta', 'monotone_vma'];
const SVG = 'http://www.w3.org/2000/svg';

function svg(tag: string, attrs: Record<string, string | number>): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A named value (the objective) as its place among the names, for the dots' x. */
function categories(pairs: [number | string | null, number][]): [number | null, number][] {
  const names = [...new Set(pairs.map((p) => p[0]).filter((x): x is string => typeof x === 'string'))].sort();
  return pairs.map(([x, y]) => [typeof x === 'string' ? names.indexOf(x) : x, y]);
}

/** One parameter's dots: x = its value (log scale when all values are > 0; "none" at the right; names in alphabetical order), y = the score. */
function dots(name: string, given: [number | string | null, number][]): HTMLElement {
  const named = given.some((p) => typeof p[0] === 'string');
  const pairs = categories(given);
  const W = 220;
  const H = 90;
  const xs = pairs.map((p) => p[0]).filter((x): x is number => x !== null);
  const log = !named && xs.length > 0 && xs.every((x) => x > 0);
  const t = (x: number): number => (log ? Math.log(x) : x);
  const [x0, x1] = xs.length ? [Math.min(...xs.map(t)), Math.max(...xs.map(t))] : [0, 1];
  const ys = pairs.map((p) => p[1]);
  const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  const hasNone = pairs.some((p) => p[0] === null);
  const plotW = hasNone ? W - 40 : W - 10;
  const px = (x: number | null): number => (x === null ? W - 18 : 8 + (x1 === x0 ? plotW / 2 : ((t(x) - x0) / (x1 - x0)) * (plotW - 8)));
  const py = (y: number): number => 8 + (y1 === y0 ? (H - 16) / 2 : ((y - y0) / (y1 - y0)) * (H - 16));
  const box = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': `score against ${name}` });
  box.append(svg('rect', { x: 0.5, y: 0.5, width: W - 1, height: H - 1, fill: 'none', stroke: 'currentColor', 'stroke-opacity': 0.15 }));
  for (const [i, [x, y]] of pairs.entries()) {
    const c = svg('circle', { cx: px(x), cy: py(y), r: 3.5, fill: 'currentColor', 'fill-opacity': 0.7 });
    const tip = svg('title', {});
    tip.textContent = `${name} ${x === null ? 'none' : named ? String(given[i]![0]) : num(x)} → ${num(y)}`;
    c.append(tip);
    box.append(c);
  }
  return h('figure', { class: 'card param-dots', 'data-param': name }, h('figcaption', null, h('code', null, name), h('small', null, ` ${log ? 'log x; ' : ''}${named ? 'x: by name; ' : ''}${hasNone ? 'right: none; ' : ''}up = lower score (better)`)), box as unknown as HTMLElement);
}

async function oneStudy(ctx: ViewContext, id: string): Promise<void> {
  const v = await getJson<StudyView>(`/studies/${encodeURIComponent(id)}`, ctx.signal);
  const s = v.study;
  const rungs = (s.settings.rungs ?? []).map((r) => `${r.trials} × ${r.budget} trees`).join(' → ');
  mount(ctx.el,
    h('h1', null, h('a', { href: '#/studies' }, 'Studies'), ' / ', h('code', null, s.name)),
    h('p', { class: 'meta' }, `${s.task}, ${s.metric}, ${s.folds} folds, seed ${s.seed}; rungs ${rungs}; `, badge(s.state), ` ${dur(s.seconds)} of evaluation`),
    v.best === null ? empty('No complete trial yet', `Continue it with \`stockpipe tune --resume ${s.study_id}\`.`)
      : h('p', { class: 'card' }, `Chosen: trial ${v.best.number}, ${s.metric} ${num(v.best.score)} at rung ${v.best.rung} with ${v.best.best_iteration ?? '–'} trees — refit with `, h('code', null, `stockpipe train --params-from ${s.study_id}`)),
    table(['#', 'State', 'Rung', 'Trees', s.metric, 'Iters', 'Time', ...PARAMS],
      v.trials.map((t) => [t.number === s.best_trial ? `★ ${t.number}` : String(t.number), badge(t.state), t.rung, t.budget, num(t.score), num(t.best_iteration), dur(t.seconds), ...PARAMS.map((k) => { const x = t.params[k] ?? (k === 'objective' ? 'l2' : k === 'monotone_vma' ? 0 : null); return x === null ? 'none' : typeof x === 'string' ? x : num(x); })]),
      { numeric: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 16, 17], rowAttrs: (i) => ({ 'data-trial': v.trials[i]!.number, title: v.trials[i]!.error ?? null }) }),
    h('h2', null, `${s.metric} at rung 0 against each parameter`),
    h('div', { class: 'param-grid' }, PARAMS.map((k) => dots(k, v.score_by_param[k] ?? []))));
}

export async function studiesView(ctx: ViewContext): Promise<void> {
  const id = ctx.params[0];
  if (id !== undefined) await oneStudy(ctx, id);
  else {
    const d = await getJson<{ studies: (Study & { best_score: number | null })[] }>('/studies', ctx.signal);
    mount(ctx.el, h('h1', null, 'Studies'), d.studies.length === 0 ? empty('No tuning studies yet', 'Run `stockpipe tune --trials 9`.')
      : table(['Study', 'Task', 'State', 'Created (UTC)', 'Best trial', 'Score'], d.studies.map((s) => [
        h('a', { href: `#/studies/${encodeURIComponent(s.study_id)}` }, h('code', null, s.name)), s.task, badge(s.state), when(s.created_at), s.best_trial ?? '–', num(s.best_score)]), { numeric: [4, 5], rowAttrs: (i) => ({ 'data-study': d.studies[i]!.study_id }) }));
  }
  ctx.ready();
}
