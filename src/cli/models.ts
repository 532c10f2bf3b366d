/** @module cli/models
 * `stockpipe models list|show|promote|compare|at|history`: command bodies over registry/store.
 * Argument parsing and output live in cli/main.ts; `data` is snake_case (docs/cli.md). */
import { assertModelLoads } from '../ml/artifacts.js';
import { defaultPromoteMetric, promote } from '../registry/promote.js';
import { championAliasOf, FIXED_ALIAS_FAMILIES, kindFamily } from '../registry/alias-kinds.js';
import { StockpipeError } from '../core/errors.js';
import { FORECAST_METRIC_KEYS, forecastMetricRows } from '../ml/forecast-card.js';
import { openRegistry, parseTime, type AliasMove, type ModelVersion, type PromoteDecision } from '../registry/store.js';
import { modelLineage, type ModelLineage } from '../registry/lineage.js';
import { tagsOf, type Tags } from '../registry/tags.js';
import { compareWithStudies, type ModelComparisonData, type ModelStudy } from '../registry/model-study.js';
import type { CommandContext, CommandResult } from './context.js';
import { withRegistry } from './with-registry.js';
import { workspaceRescorer } from '../ml/rescore.js';
import { promotionText } from './promotion-text.js';

/** One row of `models list --json` (docs/cli.md: id, kind, created_at, aliases, metrics). */
export interface ModelListItem {
  id: string;
  kind: string;
  created_at: string;
  aliases: string[];
  metrics: ModelVersion['metrics'];
  data_hash: string | null;
  run_id: string | null;
  /** Its tags (`models tag`), key → value. */
  tags: Tags;
}

export interface ModelAtResult {
  alias: string;
  /** The instant asked about, normalised to ISO-8601 UTC. */
  at: string;
  model_id: string | null;
  /** When that model took the alias (null when no model held it). */
  since: string | null;
  reason: AliasMove['reason'] | null;
}

const SHOWN = ['rmse_log', 'mae_log', 'r2_log', 'rmse', 'mae', 'r2'];

function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (!Number.isFinite(x)) return '-';
  if (Math.abs(x) >= 1e15) return x.toExponential(4);
  return Math.abs(x) >= 1000 ? Math.round(x).toString() : Number(x.toPrecision(5)).toString();
}

/** A day-ahead model's metrics next to its baselines, in aligned columns headed by the metrics' --json names (card.md has them as a markdown table). */
export function forecastColumns(metrics: Record<string, Record<string, number>>): string {
  return table(['model', ...FORECAST_METRIC_KEYS], forecastMetricRows(metrics), new Set(FORECAST_METRIC_KEYS.map((_, i) => i + 1)));
}

/** Left-aligned text columns, right-aligned numeric ones, two spaces apart. */
export function table(headers: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (numeric.has(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

/** `models list`: every model version, newest first, with its aliases and test metrics. */
export async function modelsListCommand(ctx: CommandContext, opts: { limit?: number } = {}): Promise<CommandResult<ModelListItem[]>> {
  const { models, file, tags } = withRegistry(ctx, true, (reg) => {
    const list = reg.listModels({ limit: opts.limit });
    return { models: list, file: reg.file, tags: tagsOf(reg, list.map((m) => m.id)) };
  });
  const data = models.map((m) => ({ id: m.id, kind: m.kind, created_at: m.created_at, aliases: m.aliases, metrics: m.metrics, data_hash: m.data_hash, run_id: m.run_id, tags: tags.get(m.id) ?? {} }));
  if (data.length === 0) return { data, human: `no model versions in ${file}; train one with \`stockpipe train\`` };
  // A day-ahead model has no rmse_log of volume: its column is its volume skill (1 − MAE / persistence's).
  const forecasts = data.some((m) => m.kind === 'forecast');
  const rows = data.map((m) => [
    m.id, m.kind, m.created_at, m.aliases.join(',') || '-', ...SHOWN.slice(0, 3).map((k) => fmt(m.metrics[m.kind]?.[k])),
    ...(forecasts ? [fmt(m.kind === 'forecast' ? m.metrics.forecast?.skill_volume : undefined)] : []), Object.entries(m.tags).map(([k, v]) => `${k}=${v}`).join(' '),
  ]);
  const headers = ['ID', 'KIND', 'CREATED', 'ALIASES', ...SHOWN.slice(0, 3).map((k) => k.toUpperCase()), ...(forecasts ? ['SKILL_VOLUME'] : []), 'TAGS'];
  return { data, human: table(headers, rows, new Set(forecasts ? [4, 5, 6, 7] : [4, 5, 6])) };
}

/** `models show <id|alias>`: one model version (its folder must still hold model.json). */
export async function modelsShowCommand(ctx: CommandContext, idOrAlias: string): Promise<CommandResult<ModelVersion & { lineage: ModelLineage; tags: Tags }>> {
  const { m, lineage, tags } = withRegistry(ctx, true, (reg) => {
    const mv = reg.getModel(idOrAlias);
    return { m: mv, lineage: modelLineage(reg, mv.run_id), tags: tagsOf(reg, [mv.id]).get(mv.id) ?? {} };
  });
  const s = m.test_slice;
  const kinds = Object.keys(m.metrics).sort((a, b) => (a === m.kind ? -1 : b === m.kind ? 1 : a.localeCompare(b)));
  const lines = [
    `${m.id}  (${m.kind})${m.aliases.length ? `  aliases: ${m.aliases.join(', ')}` : ''}`,
    `  created ${m.created_at}, run ${m.run_id ?? '-'}, data ${m.data_hash ?? '-'}`,
    `  folder ${m.path}`,
    `  trained on features snapshot ${lineage.features_snapshot ?? '-'} (prices snapshot ${lineage.prices_snapshot ?? '-'})`,
    `  tags ${Object.keys(tags).length === 0 ? '-' : Object.entries(tags).map(([k, v]) => `${k}=${v}`).join(' ')}`,
    `  test slice ${s === null ? 'not recorded' : `${s.date_min} .. ${s.date_max}, ${s.rows} rows, data ${s.data_hash}`}`,
    '',
    m.kind === 'forecast'
      ? forecastColumns(m.metrics as Record<string, Record<string, number>>)
      : table(['MODEL', ...SHOWN.map((k) => k.toUpperCase())], kinds.map((k) => [k === m.kind ? `${k} (this)` : k, ...SHOWN.map((x) => fmt(m.metrics[k]?.[x]))]), new Set([1, 2, 3, 4, 5, 6])),
  ];
  return { data: { ...m, lineage, tags }, human: lines.join('\n') };
}

/**
 * `models promote <id> [--alias NAME] [--force]` (default: the model family's champion alias): registry/promote on the backtest (the holder
 * re-scored on the model's CV folds when the two were scored on different rows); not better → SP_ERR_PROMOTE_REFUSED (exit 1), a kind the
 * alias does not take → SP_ERR_PROMOTE_KIND (even with --force). Recorded as 'manual'.
 */
export async function modelsPromoteCommand(
  ctx: CommandContext,
  id: string,
  opts: { alias?: string; force?: boolean; metric?: string; note?: string } = {},
): Promise<CommandResult<PromoteDecision>> {
  const actor = ctx.env.USER ?? ctx.env.USERNAME;
  const reg = openRegistry(ctx.ws, { now: ctx.now });
  try {
    // No --alias: the model's family's champion (an unknown id is promote's SP_ERR_MODEL_NOT_FOUND).
    const alias = opts.alias ?? championAliasOf(reg.findModel(id)?.kind ?? 'gbdt');
    const d = await promote(reg, id, alias, { metric: opts.metric, force: opts.force === true, trigger: 'manual', actor, note: opts.note, refuseIfNotBetter: true, rescore: workspaceRescorer(ctx.ws), loads: assertModelLoads });
    return { data: d, human: promotionText(d) };
  } finally {
    reg.close();
  }
}

/** `models compare --json` data: the comparison and the study each model's settings came from (null: none). */
export type { ModelComparisonData };

const studyText = (s: ModelStudy | null): string => (s === null ? 'none' : `${s.name !== null && s.name !== s.study_id ? `${s.name} (${s.study_id})` : s.study_id} trial ${s.trial ?? '?'}, ${s.metric ?? 'score'} ${fmt(s.score)}${s.task === 'forecast' ? ' on the validation window' : s.task === 'volume' ? ' over the CV folds' : ''}${s.name === null ? ', study no longer in the registry' : ''}`);

/** `models compare <a> <b>`: the two models' own-kind test metrics side by side. */
export async function modelsCompareCommand(ctx: CommandContext, a: string, b: string): Promise<CommandResult<ModelComparisonData>> {
  const c = withRegistry(ctx, true, (reg) => compareWithStudies(reg, a, b));
  const bm = defaultPromoteMetric(c.a.kind);
  const rows = c.differences.map((d) => [d.metric, fmt(d.a), fmt(d.b), d.diff === null ? '-' : `${d.diff > 0 ? '+' : ''}${fmt(d.diff)}`, d.better === 'a' ? c.a.id : d.better === 'b' ? c.b.id : (d.better ?? '-')]);
  const family = (kind: string): string => (kindFamily(kind) === 'forecast' ? 'a day-ahead forecast model' : `a ${kind} volume model`);
  // A volume model and a day-ahead one predict different things: no slice or backtest compares them, and no alias takes both.
  const apart = kindFamily(c.a.kind) !== kindFamily(c.b.kind)
    ? [`  not comparable: A is ${family(c.a.kind)} and B ${family(c.b.kind)}: they predict different things, and promotion never weighs one against the other (${championAliasOf(c.a.kind)} takes A's kind, ${championAliasOf(c.b.kind)} B's)`]
    : null;
  const human = [
    table(['METRIC', `A ${c.a.id} (${c.a.kind})`, `B ${c.b.id} (${c.b.kind})`, 'B-A', 'BETTER'], rows, new Set([1, 2, 3])),
    ...(apart ?? [c.same_test_slice ? '  same test slice: the metrics compare directly' : '  warning: different test slices; re-evaluate both on one slice before choosing',
    `  backtest (what promotion compares, never the test slice), ${bm}: A ${fmt(c.backtest.a.metrics[bm] ?? null)} on ${c.backtest.a.on}; B ${fmt(c.backtest.b.metrics[bm] ?? null)} on ${c.backtest.b.on}${c.backtest.same_rows ? ' (same rows)' : c.backtest.retrain !== null ? ` (different rows; ${c.backtest.retrain.toUpperCase()} is the other's training procedure on newer data: promotion keeps it)` : ' (different rows: promotion re-scores the holder on the candidate\'s)'}`]),
    `  settings from a tuning study: A ${studyText(c.study.a)}; B ${studyText(c.study.b)}`,
  ];
  return { data: c, human: human.join('\n') };
}

/** `models at <time> [--alias champion]`: which model held the alias at that time (from the history). */
export async function modelsAtCommand(ctx: CommandContext, time: string, opts: { alias?: string } = {}): Promise<CommandResult<ModelAtResult>> {
  const alias = opts.alias ?? 'champion';
  const at = parseTime(time).toISOString();
  const { move, first, aliases } = withRegistry(ctx, true, (reg) => {
    const m = reg.aliasMoveAt(alias, at);
    // Only when no move answers: the alias's first move (a time before it), or every alias there is (an alias never used).
    const history = m === null ? reg.aliasHistory() : [];
    return { move: m, first: history.find((h) => h.alias === alias) ?? null, aliases: [...new Set(history.map((h) => h.alias))] };
  });
  // An alias that never pointed at a model (a typo: `--alias champoin`) is no alias: saying no model held it then would read as an answer.
  if (move === null && first === null && FIXED_ALIAS_FAMILIES[alias] === undefined) {
    throw new StockpipeError('SP_ERR_MODEL_NOT_FOUND', `no alias '${alias}': it never pointed at a model (${aliases.length === 0 ? 'no alias has moved yet' : `the aliases: ${aliases.join(', ')}`})`, {
      hint: 'Check the alias name; `stockpipe models history` lists every alias move.',
    });
  }
  const data: ModelAtResult = { alias, at, model_id: move?.model_id ?? null, since: move?.at ?? null, reason: move?.reason ?? null };
  const human = move !== null
    ? `${move.model_id} held '${alias}' at ${at} (since ${move.at}, ${move.reason})`
    : `no model held '${alias}' at ${at}${first === null ? ': no model has held it yet' : `: its first model, ${first.model_id}, took it at ${first.at}`}`;
  return { data, human };
}

/** `models history [--alias A]`: every alias move, oldest first (append-only). */
export async function modelsHistoryCommand(ctx: CommandContext, opts: { alias?: string } = {}): Promise<CommandResult<AliasMove[]>> {
  const { moves, aliases } = withRegistry(ctx, true, (reg) => {
    const m = reg.aliasHistory(opts.alias);
    return { moves: m, aliases: m.length === 0 && opts.alias !== undefined ? [...new Set(reg.aliasHistory().map((h) => h.alias))] : [] };
  });
  // An alias that never pointed at a model (a typo: `--alias champoin`) is no alias, as for `models at`: an empty history would read as an answer.
  if (moves.length === 0 && opts.alias !== undefined && FIXED_ALIAS_FAMILIES[opts.alias] === undefined) {
    throw new StockpipeError('SP_ERR_MODEL_NOT_FOUND', `no alias '${opts.alias}': it never pointed at a model (${aliases.length === 0 ? 'no alias has moved yet' : `the aliases: ${aliases.join(', ')}`})`, {
      hint: 'Check the alias name; `stockpipe models history` without --alias lists every alias move.',
    });
  }
  if (moves.length === 0) return { data: moves, human: `no alias moves${opts.alias ? ` for '${opts.alias}'` : ''}` };
  const rows = moves.map((m) => [m.at, m.alias, m.model_id, m.previous_model_id ?? '-', m.reason, m.actor ?? '-', m.note ?? '']);
  return { data: moves, human: table(['AT', 'ALIAS', 'MODEL', 'PREVIOUS', 'REASON', 'ACTOR', 'NOTE'], rows) };
}
