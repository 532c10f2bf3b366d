/** @module dashboard/client/views/models
 * #/models: model versions with their own-kind test metrics next to the baselines', the champion
 * marked, promotion from the page (a confirmation dialog; a refusal offers forcing, recorded as
 * forced), and the comparison of two versions (#/models?a=<id>&b=<id>). */
import { ApiError, apiToken, getJson, postJson, setApiToken, type ModelVersion } from '../api.js';
import { badge, empty, errorBox, h, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';

const METRICS = ['rmse_log', 'mae_log', 'r2_log'];

interface Comparison {
  a: { id: string; kind: string };
  b: { id: string; kind: string };
  same_test_slice: boolean;
  differences: { metric: string; a: number | null; b: number | null; diff: number | null; better: 'a' | 'b' | 'tie' | null }[];
  backtest?: { a: { on: string; metrics: Record<string, number> }; b: { on: string; metrics: Record<string, number> }; same_rows: boolean };
}

function baselines(m: ModelVersion): HTMLElement {
  const own = m.metrics[m.kind]?.rmse_log;
  return h('span', { class: 'baselines' }, Object.keys(m.metrics).filter((k) => k !== m.kind).sort().map((k) => {
    const v = m.metrics[k]?.rmse_log;
    const beats = typeof own === 'number' && typeof v === 'number' ? own < v : null;
    return h('span', { class: `chip ${beats === true ? 'better' : beats === false ? 'worse' : ''}`, title: `${k} rmse_log on the same test slice` }, `${k} ${num(v)}`);
  }));
}

export async function modelsView(ctx: ViewContext): Promise<void> {
  const listEl = h('div');
  const compareEl = h('div', { class: 'card' });
  const dialog = h('dialog', { class: 'confirm' });
  mount(ctx.el, h('h1', null, 'Models'), listEl, h('h2', null, 'Compare two versions'), compareEl, dialog);
  let data = await getJson<{ serving: string | null; models: ModelVersion[] }>('/models', ctx.signal);

  function confirmPromote(m: ModelVersion): void {
    const note = h('input', { type: 'text', name: 'note', placeholder: 'note (optional)', maxlength: 500 });
    const force = h('input', { type: 'checkbox', name: 'force' });
    const token = h('input', { type: 'password', name: 'token', placeholder: 'API token (when the server has one)', autocomplete: 'off', value: apiToken() });
    const out = h('div', { class: 'result' });
    const champ = data.models.find((x) => x.aliases.includes('champion'));
    const go = h('button', { type: 'button', class: 'primary', 'data-action': 'confirm-promote', onclick: async () => {
      go.disabled = true;
      setApiToken(token.value.trim());
      try {
        const d = await postJson<{ promoted: boolean; reason: string }>(`/models/${encodeURIComponent(m.id)}/promote`, { alias: 'champion', force: force.checked, ...(note.value ? { note: note.value } : {}) });
        mount(out, h('p', { class: 'ok' }, d.promoted ? `Promoted: ${d.reason}` : d.reason));
        data = await getJson('/models', ctx.signal);
        renderList();
        setTimeout(() => dialog.close(), 600);
      } catch (err) {
        const code = err instanceof ApiError ? err.code : '';
        mount(out, errorBox(err), code === 'SP_ERR_PROMOTE_REFUSED' ? h('p', null, 'Tick “force” to promote anyway (recorded as forced).')
          : code === 'SP_ERR_UNAUTHORIZED' ? h('p', null, 'Enter the server’s API token (STOCKPIPE_API_TOKEN) above; it is kept for this tab only.') : null);
        go.disabled = false;
      }
    } }, 'Promote');
    mount(dialog, h('h2', null, `Promote ${m.id} to champion?`),
      h('p', null, champ ? `The champion is ${champ.id} (${champ.kind}, rmse_log ${num(champ.metrics[champ.kind]?.rmse_log)}). ` : 'No model is champion yet. ',
        `${m.id} has rmse_log ${num(m.metrics[m.kind]?.rmse_log)}. It is promoted only if it is better on the same test slice.`),
      h('p', null, note), h('label', null, force, ' force (promote even if not better)'), h('p', null, token), out,
      h('div', { class: 'buttons' }, h('button', { type: 'button', onclick: () => dialog.close() }, 'Cancel'), go));
    dialog.showModal();
  }

  function renderList(): void {
    if (data.models.length === 0) {
      mount(listEl, empty('No model versions yet', 'Train one with `stockpipe train --promote-if-better`.'));
      return;
    }
    mount(listEl, h('p', { class: 'meta' }, `Serving ${data.serving ?? 'nothing yet'}. Metrics are on each model's test slice; baselines are rmse_log of the same rows.`),
      table(['Model', 'Kind', 'Created (UTC)', 'Aliases', ...METRICS, 'Baselines (rmse_log)', ''],
        data.models.map((m) => [
          h('span', null, m.aliases.includes('champion') ? h('span', { class: 'star', title: 'champion' }, '★ ') : null, h('code', null, m.id)),
          m.kind, when(m.created_at), h('span', null, m.aliases.map((a) => badge(a, a === 'champion' ? 'champion' : 'alias'))),
          ...METRICS.map((k) => num(m.metrics[m.kind]?.[k])), baselines(m),
          m.aliases.includes('champion') ? '' : h('button', { type: 'button', 'data-promote': m.id, onclick: () => confirmPromote(m) }, 'Promote…'),
        ]), { numeric: [4, 5, 6], rowAttrs: (i) => ({ 'data-model': data.models[i]!.id, class: data.models[i]!.aliases.includes('champion') ? 'champion' : null }) }));
    renderCompare();
  }

  function renderCompare(): void {
    if (data.models.length < 2) {
      mount(compareEl, empty('Two model versions are needed to compare'));
      return;
    }
    const champ = data.models.find((m) => m.aliases.includes('champion'))?.id ?? data.models[1]!.id;
    const a0 = ctx.query.get('a') ?? champ;
    const b0 = ctx.query.get('b') ?? data.models.find((m) => m.id !== a0)!.id;
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
        mount(out, bt ? h('p', {}, `Promotion compares the backtest, never the test slice: A rmse_log ${num(bt.a.metrics.rmse_log ?? null)} (${bt.a.on}), B ${num(bt.b.metrics.rmse_log ?? null)} (${bt.b.on})${bt.same_rows ? '' : '; different rows: the holder is re-scored on the candidate\'s'}.`) : null,
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
