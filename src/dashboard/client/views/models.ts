/** @module dashboard/client/views/models
 * #/models: model versions searched by id, kind, alias or tag (#/models?q=…&tag=…): volume models
 * with raw (shares) and log1p(shares) test scores beside their baselines and the baselines that win
 * named, day-ahead models with their skill against persistence; a metric of every model over time;
 * the serving champion beside the three models before it; promotion from the page (a confirmation
 * dialog; a refusal offers forcing, recorded as forced); the comparison of two versions
 * (#/models?a=<id>&b=<id>). #/models/<id> is views/model-page. */
import { ApiError, apiToken, getJson, postJson, setApiToken } from '../api.js';
import { aliasHolder, listModels, type ListedModel, type ModelList } from '../api-models.js';
import { badge, empty, errorBox, h, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { championSection, historySection } from './model-compare.js';
import { modelPageView } from './model-page.js';

type ModelVersion = ListedModel;
const pct = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const sci = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? (Math.abs(x) >= 1e5 ? x.toExponential(3) : num(x)) : '–');

interface Comparison {
  a: { id: string; kind: string };
  b: { id: string; kind: string };
  same_test_slice: boolean;
  differences: { metric: string; a: number | null; b: number | null; diff: number | null; better: 'a' | 'b' | 'tie' | null }[];
  backtest?: { a: { on: string; metrics: Record<string, number> }; b: { on: string; metrics: Record<string, number> }; same_rows: boolean; same_procedure: boolean; retrain: 'a' | 'b' | null };
}

/** A volume model's baselines, each with its raw RMSE (shares) and rmse_log; green when the model beats it on both. */
function baselines(m: ModelVersion): HTMLElement {
  if (m.summary.task !== 'volume') return h('span');
  const own = m.summary.rows.find((r) => r.model);
  return h('span', { class: 'baselines' }, m.summary.rows.filter((r) => !r.model).map((r) => {
    const raw = (own?.metrics.rmse ?? Infinity) < (r.metrics.rmse ?? Infinity);
    const log = (own?.metrics.rmse_log ?? Infinity) < (r.metrics.rmse_log ?? Infinity);
    return h('span', { class: `chip ${raw && log ? 'better' : 'worse'}`, 'data-baseline': r.name, title: `${r.name} on the same test rows` }, `${r.name} ${sci(r.metrics.rmse)} sh · ${num(r.metrics.rmse_log)} log`);
  }));
}

/** Where a baseline beats a volume model, said plainly under the table (one line per model and scale). */
function winNotes(list: ModelVersion[]): HTMLElement | null {
  const lines = list.flatMap((m) => (m.summary.task === 'volume' ? m.summary.wins.map((w) => ({ m, w })) : []));
  if (lines.length === 0) return h('p', { class: 'ok baseline-note' }, 'Every model listed beats every baseline on both scales.');
  return h('ul', { class: 'baseline-notes' }, lines.map(({ m, w }) => h('li', { class: 'warn baseline-note', 'data-model': m.id, 'data-win': w.metric }, h('code', null, m.id), `: ${w.note}.`)));
}

// A long tag or alias is cut short in the list (style.css): the whole of it is its tooltip.
const tags = (m: ModelVersion): HTMLElement => h('span', null, Object.entries(m.tags ?? {}).map(([k, v]) => h('span', { class: 'chip tag', title: `${k}=${v}` }, `${k}=${v}`)));
const aliases = (m: ModelVersion, champion: (a: string) => boolean): HTMLElement => h('span', null, m.aliases.map((a) => {
  const b = badge(a, champion(a) ? 'champion' : 'alias');
  b.title = a;
  return b;
}));
const link = (m: ModelVersion): HTMLElement => h('span', null, m.aliases.some((a) => a.includes('champion')) ? h('span', { class: 'star', title: 'serving alias' }, '★ ') : null, h('a', { href: `#/models/${encodeURIComponent(m.id)}` }, h('code', null, m.id)));
/** A list's first cell: the id, linked (starred when it serves), and under it the kind and creation time (their own
 * columns made the volume list too wide for 1440 px). */
const modelCell = (m: ModelVersion): HTMLElement => h('span', { class: 'model-cell' }, link(m), h('small', null, `${m.kind} · ${when(m.created_at)}`));

export async function modelsView(ctx: ViewContext): Promise<void> {
  if (ctx.params[0] !== undefined) return modelPageView(ctx, ctx.params[0]);
  const listEl = h('div');
  const compareEl = h('div', { class: 'card' });
  const dialog = h('dialog', { class: 'confirm' });
  const q = h('input', { type: 'search', name: 'q', id: 'model-search', placeholder: 'id, kind, alias, tag…', 'aria-label': 'search models', value: ctx.query.get('q') ?? '' });
  const tag = h('input', { type: 'text', name: 'tag', placeholder: 'tag: key or key=value', 'aria-label': 'tag filter', value: ctx.query.get('tag') ?? '' });
  const found = h('span', { class: 'meta' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const search = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => void reload(), 200);
  };
  q.addEventListener('input', search);
  tag.addEventListener('input', search);
  const champEl = h('div', { class: 'card', 'data-section': 'champion' });
  mount(ctx.el, h('h1', null, 'Models'), h('div', { class: 'toolbar', role: 'search' }, q, tag, found), listEl,
    h('h2', null, 'Metric over time'), historySection(ctx),
    h('h2', null, 'The serving champion and the three models before it'), champEl,
    h('h2', null, 'Compare two versions'), compareEl, dialog);
  let data: ModelList = await listModels({ q: ctx.query.get('q') ?? undefined, tag: ctx.query.get('tag') ?? undefined }, ctx.signal);
  async function reload(): Promise<void> {
    ctx.setQuery({ q: q.value.trim(), tag: tag.value.trim() });
    try {
      data = await listModels({ q: q.value.trim(), tag: tag.value.trim() }, ctx.signal);
      renderList();
    } catch (err) {
      mount(listEl, errorBox(err));
    }
  }
  async function renderChampion(): Promise<void> {
    try {
      mount(champEl, await championSection(ctx, 'volume'));
    } catch (err) {
      mount(champEl, errorBox(err));
    }
  }

  async function confirmPromote(m: ModelVersion): Promise<void> {
    const note = h('input', { type: 'text', name: 'note', placeholder: 'note (optional)', maxlength: 500 });
    const force = h('input', { type: 'checkbox', name: 'force' });
    const token = h('input', { type: 'password', name: 'token', placeholder: 'API token (when the server has one)', autocomplete: 'off', value: apiToken() });
    const out = h('div', { class: 'result' });
    // The champion may be outside the list shown (a search, the newest 100): the server names it.
    let champ: ModelVersion | null = null;
    let unread: string | null = null;
    try {
      champ = await aliasHolder(data.models, 'champion', ctx.signal);
    } catch (err) {
      unread = err instanceof Error ? err.message : String(err);
    }
    const go = h('button', { type: 'button', class: 'primary', 'data-action': 'confirm-promote', onclick: async () => {
      go.disabled = true;
      setApiToken(token.value.trim());
      try {
        const d = await postJson<{ promoted: boolean; reason: string }>(`/models/${encodeURIComponent(m.id)}/promote`, { alias: 'champion', force: force.checked, ...(note.value ? { note: note.value } : {}) });
        mount(out, h('p', { class: 'ok' }, d.promoted ? `Promoted: ${d.reason}` : d.reason));
        data = await listModels({ q: q.value.trim(), tag: tag.value.trim() }, ctx.signal);
        renderList();
        setTimeout(() => dialog.close(), 600);
      } catch (err) {
        const code = err instanceof ApiError ? err.code : '';
        mount(out, errorBox(err), code === 'SP_ERR_PROMOTE_REFUSED' ? h('p', null, 'Tick “force” to promote anyway (recorded as forced).')
          : code === 'SP_ERR_UNAUTHORIZED' ? h('p', null, 'Enter the server’s API token (STOCKPIPE_API_TOKEN) above; it is kept for this tab only.') : null);
        go.disabled = false;
      }
    } }, 'Promote');
    // What promotion compares: the backtest (CV folds or the validation window), never the test slice.
    const backtest = (x: ModelVersion): string => {
      const s = x.test_slice?.selection;
      if (s == null) return 'no backtest (a random split: only force promotes it)';
      const span = s.windows.length === 0 ? '' : ` ${s.windows[0]!.from} … ${s.windows[s.windows.length - 1]!.to}`;
      return `backtest rmse_log ${num(s.metrics.rmse_log)} on ${s.kind === 'cv' ? `${s.windows.length} CV fold${s.windows.length === 1 ? '' : 's'}` : 'the validation window'}${span}`;
    };
    mount(dialog, h('h2', null, `Promote ${m.id} to champion?`),
      h('p', null, champ ? `The champion is ${champ.id} (${champ.kind}, ${backtest(champ)}). ` : unread !== null ? `The champion could not be read (${unread}). ` : 'No model is champion yet. ',
        `${m.id}: ${backtest(m)}. It is promoted only if its backtest is better (the test slice is never compared); when the two were scored on different rows, the server first re-scores the champion on ${m.id}'s.`),
      h('p', null, note), h('label', null, force, ' force (promote even if not better)'), h('p', null, token), out,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'), go));
    dialog.showModal();
  }

  function renderList(): void {
    found.textContent = `${data.total} model${data.total === 1 ? '' : 's'}${data.total > data.models.length ? ` (newest ${data.models.length} shown)` : ''}`;
    if (data.models.length === 0) {
      mount(listEl, q.value || tag.value ? empty('No model matches', 'Search by a part of the id, a kind, an alias or a tag (`stockpipe models tag <id> key=value`).')
        : empty('No model versions yet', 'Train one with `stockpipe train --promote-if-better`.'));
      renderCompare();
      void renderChampion();
      return;
    }
    const volume = data.models.filter((m) => m.summary.task === 'volume');
    const forecast = data.models.filter((m) => m.summary.task === 'forecast');
    const own = (m: ModelVersion, k: string): number | null => m.summary.rows.find((r) => r.model)?.metrics[k] ?? null;
    const promote = (m: ModelVersion): HTMLElement | string => (m.aliases.includes('champion') || m.summary.task !== 'volume' ? '' : h('button', { type: 'button', 'data-promote': m.id, onclick: () => void confirmPromote(m) }, 'Promote…'));
    const attrs = (list: ModelVersion[]) => (i: number) => ({ 'data-model': list[i]!.id, class: list[i]!.aliases.some((a) => a.includes('champion')) ? 'champion' : null });
    mount(listEl, h('p', { class: 'meta' }, `Serving ${data.serving ?? 'nothing yet'}. Scores are on each model's test slice, next to the baselines scored on the same rows: raw Volume in shares, and log1p(Volume) in log1p(shares).`),
      volume.length === 0 ? null : h('div', { 'data-table': 'volume', class: 'model-list' }, h('h2', null, 'Volume models'),
        table(['Model · kind · created (UTC)', 'Aliases', 'Tags', 'RMSE (shares)', 'R²', 'RMSE (log1p(shares))', 'R² log', 'Baselines: RMSE shares · log1p', ''],
          volume.map((m) => [modelCell(m), aliases(m, (a) => a === 'champion'), tags(m),
            sci(own(m, 'rmse')), num(own(m, 'r2')), num(own(m, 'rmse_log')), num(own(m, 'r2_log')), baselines(m), promote(m)]),
          { numeric: [3, 4, 5, 6], rowAttrs: attrs(volume) }),
        winNotes(volume)),
      forecast.length === 0 ? null : h('div', { 'data-table': 'forecast', class: 'model-list' }, h('h2', null, 'Day-ahead models (skill = 1 − MAE/MAE of persistence)'),
        table(['Model · kind · created (UTC)', 'Aliases', 'Tags', 'Skill volume', 'Skill Adj Close', 'MAE volume (shares)', 'MAE Adj Close ($)', 'MAE log1p volume', 'Note'],
          forecast.map((m) => {
            const s = m.summary.task === 'forecast' ? m.summary : null;
            return [modelCell(m), aliases(m, (a) => a.includes('champion')), tags(m),
              h('span', { 'data-skill': 'volume' }, pct(s?.skill_volume)), h('span', { 'data-skill': 'adj_close' }, pct(s?.skill_adj_close)), sci(own(m, 'mae_volume')), num(own(m, 'mae_adj_close')), num(own(m, 'mae_volume_log')),
              s && s.notes.length ? h('span', { class: 'warn baseline-note' }, s.notes.join('; ')) : ''];
          }), { numeric: [3, 4, 5, 6, 7], rowAttrs: attrs(forecast) })));
    renderCompare();
    void renderChampion();
  }

  function renderCompare(): void {
    if (data.models.length < 2) {
      mount(compareEl, empty(q.value || tag.value ? 'Fewer than two models match the search' : 'Two model versions are needed to compare'));
      return;
    }
    const champ = data.models.find((m) => m.aliases.includes('champion'))?.id ?? data.models[1]!.id;
    // Ids in the URL that are not in the list (a typo, a model gone) are said so, not silently replaced.
    const listed = (id: string | null): string | null => (id !== null && data.models.some((m) => m.id === id) ? id : null);
    const unknown = [ctx.query.get('a'), ctx.query.get('b')].filter((id): id is string => id !== null && listed(id) === null);
    const a0 = listed(ctx.query.get('a')) ?? champ;
    // B defaults to a model of A's family (a volume model's metrics do not compare with a day-ahead one's).
    const task = data.models.find((m) => m.id === a0)?.summary.task;
    const b0 = listed(ctx.query.get('b')) ?? (data.models.find((m) => m.id !== a0 && m.summary.task === task) ?? data.models.find((m) => m.id !== a0)!).id;
    const pick = (name: string, v: string): HTMLSelectElement => h('select', { name, 'aria-label': `model ${name}`, onchange: () => void run() },
      data.models.map((m) => h('option', { value: m.id, ...(m.id === v ? { selected: true } : {}) }, `${m.id} (${m.kind})`)));
    const sa = pick('a', a0);
    const sb = pick('b', b0);
    const out = h('div');
    async function run(): Promise<void> {
      ctx.setQuery({ a: sa.value, b: sb.value });
      try {
        const c = await getJson<Comparison>(`/models/compare?a=${encodeURIComponent(sa.value)}&b=${encodeURIComponent(sb.value)}`, ctx.signal);
        const bt = c.backtest;
        const family = (id: string): string | undefined => data.models.find((m) => m.id === id)?.summary.task;
        if (family(sa.value) !== family(sb.value)) {
          // A volume model and a day-ahead model share no metric: nothing to set side by side.
          mount(out, h('p', { class: 'warn' }, `${sa.value} is a ${family(sa.value) === 'forecast' ? 'day-ahead' : 'volume'} model and ${sb.value} a ${family(sb.value) === 'forecast' ? 'day-ahead' : 'volume'} one: they predict different things and share no metric. Pick two models of one family.`));
          return;
        }
        // What promotion compares by default: a volume model's rmse_log, a day-ahead model's volume MAE.
        const bm = family(sa.value) === 'forecast' ? 'mae_volume' : 'rmse_log';
        mount(out, unknown.length > 0 ? h('p', { class: 'warn' }, `No model ${unknown.join(' or ')} in this list: comparing ${sa.value} and ${sb.value} instead.`) : null, bt ? h('p', {}, `Promotion compares the backtest, never the test slice: A ${bm} ${num(bt.a.metrics[bm] ?? null)} (${bt.a.on}), B ${num(bt.b.metrics[bm] ?? null)} (${bt.b.on})${bt.same_rows ? '' : bt.retrain !== null ? `; different rows: ${bt.retrain.toUpperCase()} is the other's training procedure on newer data, which promotion keeps` : '; different rows: the holder is re-scored on the candidate\'s'}.`) : null,
          c.same_test_slice ? null : h('p', { class: 'warn' }, 'Different test slices: re-evaluate both on one slice before choosing.'),
          table(['Metric', `A ${c.a.id}`, `B ${c.b.id}`, 'B − A', 'Better'], c.differences.map((d) => [d.metric, num(d.a), num(d.b),
            d.diff === null ? '–' : `${d.diff > 0 ? '+' : ''}${num(d.diff)}`, d.better === 'a' ? 'A' : d.better === 'b' ? 'B' : (d.better ?? '–')]), { numeric: [1, 2, 3] }));
      } catch (err) {
        mount(out, errorBox(err));
      }
    }
    mount(compareEl, h('div', { class: 'toolbar' }, h('label', null, 'A ', sa), h('label', null, 'B ', sb)), out);
    void run();
  }

  renderList();
  ctx.ready();
}
