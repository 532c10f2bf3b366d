/** @module dashboard/client/views/model-page
 * #/models/<id>: one model version as an MLflow user expects its page: test scores on raw Volume
 * (shares) and log1p(shares) beside each baseline with the baselines that win named, or a
 * day-ahead model's skill against persistence; the protocol (folds, cv_rmse_log, trees); loss
 * curves; test-slice residuals and feature importance; intervals; parameters; data lineage (link to
 * #/lineage/model/<id>); tags with their editor (./tag-editor); alias moves; the model card. GET
 * /models/:id/page, /curves, /importance, /residuals. */
import { modelCurves, modelImportance, modelPage, modelResiduals, type Curve, type ModelPage, type Summary } from '../api-models.js';
import { badge, empty, errorBox, h, int, mount, num, table, when } from '../dom.js';
import type { ViewContext } from '../main.js';
import { bars, color, histogramChart, lineChart, scatterChart } from './model-charts.js';
import { tagEditor } from './tag-editor.js';

const LABEL: Record<string, string> = { mae: 'MAE', rmse: 'RMSE', r2: 'R²', mae_log: 'MAE', rmse_log: 'RMSE', r2_log: 'R²' };
const pct = (x: number | null | undefined): string => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : '–');
const withUnit = (metric: string, unit: string): string => `${LABEL[metric] ?? metric}${unit ? ` (${unit})` : ''}`;

/** The scores table and its plain notes: volume (raw | log, units in the headers) or day-ahead (skill first). */
export function scoresBlock(s: Summary, kind: string): HTMLElement {
  if (s.task === 'forecast') {
    return h('div', { class: 'scores', 'data-task': 'forecast' },
      h('p', { class: 'skill' }, 'Skill against persistence (1 − MAE/MAE', h('sub', null, 'persistence'), '): ',
        h('strong', { 'data-skill': 'volume' }, `volume ${pct(s.skill_volume)}`), ', ', h('strong', { 'data-skill': 'adj_close' }, `Adj Close ${pct(s.skill_adj_close)}`)),
      s.notes.map((n) => h('p', { class: 'baseline-note warn' }, `Note: ${n}.`)),
      table(['Model', ...s.columns.map((c) => `${c.metric}${c.unit && !c.metric.startsWith('skill') ? ` (${c.unit})` : ''}`)],
        s.rows.map((r) => [r.model ? h('strong', null, `${r.name} (this model)`) : r.name, ...s.columns.map((c) => (c.metric.startsWith('skill') ? pct(r.metrics[c.metric]) : num(r.metrics[c.metric])))]),
        { numeric: s.columns.map((_, i) => i + 1) }));
  }
  const raw = s.columns.filter((c) => c.scale === 'raw');
  const log = s.columns.filter((c) => c.scale === 'log');
  const head = h('tr', null, h('th', null, ''), h('th', { colspan: raw.length, class: 'n group' }, 'raw Volume — shares'), h('th', { colspan: log.length, class: 'n group' }, 'log1p(Volume) — log1p(shares)'));
  const t = table(['Model', ...[...raw, ...log].map((c) => withUnit(c.metric, c.unit))],
    s.rows.map((r) => [r.model ? h('strong', null, `${r.name} (this model)`) : r.name, ...[...raw, ...log].map((c) => num(r.metrics[c.metric]))]),
    { numeric: [1, 2, 3, 4, 5, 6], rowAttrs: (i) => ({ 'data-row': s.rows[i]!.name, class: s.rows[i]!.model ? 'selected' : null }) });
  t.querySelector('thead')?.prepend(head);
  return h('div', { class: 'scores', 'data-task': 'volume' }, t,
    s.wins.length === 0 ? h('p', { class: 'ok baseline-note' }, `${kind} beats every baseline on both scales (RMSE in shares and in log1p(shares)).`)
      : s.wins.map((w) => h('p', { class: 'baseline-note warn', 'data-win': w.metric }, `Note: ${w.note}.`)));
}

function curvesBlock(host: HTMLElement, curves: Curve[], source: string, signal: AbortSignal): void {
  if (curves.length === 0) {
    mount(host, empty('No loss curve recorded', 'A random forest records none; polyreg and naive have no iterations.'));
    return;
  }
  const cv = curves.filter((c) => c.metric === 'rmse_log');
  const mse = curves.filter((c) => c.metric === 'mse');
  const boxes: HTMLElement[] = [];
  const draw: (() => void)[] = [];
  // One chart for the folds' rmse_log, and one per booster for its MSE (a day-ahead model's two targets differ by 1000×).
  const parts = [...new Set(mse.map((c) => c.part))];
  const groups: [Curve[], string, string][] = [[cv, 'CV folds: validation rmse_log after each tree', 'rmse_log (log1p(shares))'],
    ...parts.map((part): [Curve[], string, string] => [mse.filter((c) => c.part === part), `${part === 'train' ? 'Training' : part === 'refit' ? 'Refit on every pre-test row' : `${part} booster`}: loss after each tree`, 'MSE (fitted target)'])];
  for (const [list, title, y] of groups) {
    if (list.length === 0) continue;
    const box = h('div', { class: 'chart', 'data-chart': 'loss' });
    boxes.push(box);
    draw.push(() => lineChart(box, { title, x: 'trees', y, integerX: true }, list.map((c, i) => ({ label: `${c.part} ${c.series.replace('_', ' ')}`, x: c.steps, y: c.values, color: color(i), dash: c.series.startsWith('valid') ? undefined : [5, 3] })), signal));
  }
  mount(host, h('p', { class: 'meta' }, `From ${source === 'registry' ? 'the training run\'s step metrics' : source}; long curves are thinned on the server (first, last and minimum kept).`), boxes);
  draw.forEach((f) => f());
}

export async function modelPageView(ctx: ViewContext, id: string): Promise<void> {
  const p: ModelPage = await modelPage(id, ctx.signal);
  const m = p.model;
  const curvesEl = h('div', { class: 'charts' });
  const residEl = h('div', { class: 'charts' });
  const impEl = h('div');
  const folds = p.protocol?.folds ?? [];
  const chips = h('span', { 'data-tags': '' });
  const showChips = (tags: Record<string, string>): void => mount(chips, Object.entries(tags).map(([k, v]) => h('span', { class: 'chip tag' }, `${k}=${v}`)));
  showChips(m.tags);
  mount(ctx.el,
    h('h1', null, h('a', { href: '#/models' }, 'Models'), ' / ', h('code', null, m.id), ' ', m.aliases.map((a) => badge(a, a.includes('champion') ? 'champion' : 'alias'))),
    h('p', { class: 'meta' }, `${m.kind}, registered ${when(m.created_at)}, run ${m.run_id ?? '–'}. `, chips),
    p.problems.length > 0 ? h('p', { class: 'warn', 'data-problems': '' }, `Some of this model's files cannot be read: ${p.problems.join('; ')}.`) : null,
    h('div', { class: 'card', 'data-section': 'scores' }, h('h2', null, `Test slice ${m.test_slice ? `${m.test_slice.date_min} .. ${m.test_slice.date_max}, ${int(m.test_slice.rows)} rows` : '(not recorded)'}: scores beside the baselines`), scoresBlock(p.summary, m.kind)),
    h('div', { class: 'card', 'data-section': 'protocol' }, h('h2', null, 'Protocol and backtest (what promotion compares)'),
      h('p', null, p.protocol?.label ?? (p.split ? `split ${p.split.kind}${p.split.leaky ? ' (leaky across time)' : ''}, validation from ${p.split.valid_from ?? '–'}, test from ${p.split.test_from ?? '–'}` : 'not recorded')),
      p.backtest ? h('p', { 'data-backtest': '' }, `Backtest on ${p.backtest.on}: ${Object.entries(p.backtest.metrics).filter(([k]) => ['rmse_log', 'skill_volume', 'skill_adj_close', 'mae_volume', 'mae_adj_close'].includes(k)).map(([k, v]) => `${k} ${num(v)}${p.units[k] ? ` ${p.units[k]}` : ''}`).join(', ')}${p.protocol?.cv_rmse_log === undefined ? '' : `; cv_rmse_log ${num(p.protocol.cv_rmse_log)}, refit with ${num(p.protocol.trees)} trees`}.`)
        : h('p', { class: 'meta' }, 'No backtest score (random split): promotion needs force.'),
      folds.length === 0 ? null : table(['Fold', 'Train from', 'Validation', 'Train rows', 'Valid rows', 'Best trees', 'rmse_log (log1p(shares))'],
        folds.map((f) => [f.index + 1, f.train_from, `${f.valid_from} .. ${f.valid_to}`, int(f.rows_train), int(f.rows_valid), f.best_iter, num(f.best_score)]), { numeric: [3, 4, 5, 6] })),
    h('div', { class: 'card', 'data-section': 'curves' }, h('h2', null, 'Training log: loss curves'), curvesEl),
    p.family === 'volume' ? h('div', { class: 'card', 'data-section': 'residuals' }, h('h2', null, 'Residuals on the test slice'), residEl) : null,
    h('div', { class: 'card', 'data-section': 'importance' }, h('h2', null, 'Feature importance (splits and split gain per feature)'), impEl),
    p.intervals ? h('div', { class: 'card', 'data-section': 'intervals' }, h('h2', null, 'Prediction intervals (split-conformal)'),
      p.intervals_file !== 'ok' ? h('p', { class: 'warn', 'data-intervals-file': String(p.intervals_file) }, `intervals.json is ${p.intervals_file === 'missing' ? 'missing' : 'not valid'}: a server that loads this model (a start, a promotion) answers 409 on GET /predict/interval and POST /predict with coverage; one serving it already keeps the intervals it loaded (the table below is its training report).`) : null,
      h('p', { class: 'meta' }, `Calibrated on ${int(p.intervals.n)} residuals of the ${p.intervals.source} slice (log1p scale); coverage seen on the test slice:`),
      table(['Asked', 'Seen', 'Half-width (log1p(shares))', 'Rows'], p.intervals.coverage.map((c) => [pct(c.coverage), pct(c.covered), num(c.q_log), int(c.rows)]), { numeric: [0, 1, 2, 3] }),
      // Coverages too few calibration residuals cannot give (a model trained before this was recorded has none listed).
      ...(p.intervals.not_reported ?? []).map((u) => h('p', { class: 'meta', 'data-not-reported': String(u.coverage) }, `${pct(u.coverage)} asked: ${u.reason}`))) : null,
    h('div', { class: 'card', 'data-section': 'data' }, h('h2', null, 'Data'),
      h('p', null, `Features snapshot ${p.lineage.features_snapshot ?? '–'} (built from prices snapshot ${p.lineage.prices_snapshot ?? '–'}), data hash `, h('code', null, (m.data_hash ?? '–').slice(0, 16)), '. ',
        h('a', { href: p.lineage.link, 'data-link': 'lineage' }, 'Lineage: model → run → snapshot → source'))),
    h('div', { class: 'card', 'data-section': 'tags' }, h('h2', null, 'Tags'), tagEditor(m.id, m.tags, showChips)),
    h('div', { class: 'card', 'data-section': 'params' }, h('h2', null, 'Parameters'), table(['Parameter', 'Value'], Object.entries(p.params).map(([k, v]) => [h('code', null, k), v ?? '–']))),
    p.alias_moves.length === 0 ? null : h('div', { class: 'card' }, h('h2', null, 'Alias moves'),
      table(['At', 'Alias', 'To', 'From', 'Reason', 'Note'], p.alias_moves.map((a) => [when(a.at), a.alias, a.model_id, a.previous_model_id ?? '–', a.reason, a.note ?? '']))),
    p.card === null ? null : h('details', { class: 'card' }, h('summary', null, 'Model card (card.md)'), h('pre', { class: 'logtext' }, p.card)));

  const [curves, imp, res] = await Promise.allSettled([modelCurves(id, ctx.signal), modelImportance(id, ctx.signal), p.family === 'volume' ? modelResiduals(id, ctx.signal) : Promise.resolve(null)]);
  if (curves.status === 'fulfilled') curvesBlock(curvesEl, curves.value.curves, curves.value.source, ctx.signal);
  else mount(curvesEl, errorBox(curves.reason));
  if (imp.status === 'fulfilled') {
    mount(impEl, imp.value.boosters.length === 0 ? empty('No trees', `${m.kind} has no trees to count splits in.`)
      : h('div', { class: 'param-grid' }, imp.value.boosters.map((b) => bars(b.features.slice(0, 15).map((f) => ({ label: f.feature, value: f.splits, text: `${f.splits} (${pct(f.share)})${f.gain_share === null ? '' : ` · gain ${pct(f.gain_share)}`}` })),
        `${b.booster} booster, ${b.trees} trees: splits (bars)${b.gain ? ', share of the split gain' : '; no split gains recorded'}`))));
  } else mount(impEl, errorBox(imp.reason));
  if (res.status === 'rejected') mount(residEl, errorBox(res.reason));
  else if (res.value !== null) {
    const r = res.value.residuals;
    if (r === null) mount(residEl, empty('No residuals', res.value.reason ?? ''));
    else {
      const histEl = h('div', { class: 'chart', 'data-chart': 'residuals' });
      const scatEl = h('div', { class: 'chart', 'data-chart': 'scatter' });
      const registered = p.summary.rows.find((x) => x.model)?.metrics.rmse_log;
      mount(residEl, h('p', null, `${int(r.rows)} test rows scored on the features snapshot the model was trained on: rmse_log ${num(r.rmse_log)} (registered ${num(registered)}), bias ${num(r.bias_log)} log1p(shares) (> 0: predicts too little); ${int(r.histogram.below)} below and ${int(r.histogram.above)} above the histogram's range.`), histEl, scatEl);
      histogramChart(histEl, { title: 'Residual log1p(actual) − log1p(predicted)', x: `residual (${r.histogram.unit})`, y: 'rows' }, r.histogram.edges, r.histogram.counts, ctx.signal);
      scatterChart(scatEl, { title: `Predicted vs actual volume (${int(r.sample.actual.length)} rows evenly spaced)`, x: 'actual volume (shares, log axis)', y: 'predicted volume (shares, log axis)' }, r.sample.actual, r.sample.predicted, ctx.signal);
    }
  }
  ctx.ready();
}
