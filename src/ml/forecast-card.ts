/** @module ml/forecast-card
 * card.md and the metrics table of a day-ahead model (docs/models.md): the model next to persistence
 * and the 20-day mean, with skill = 1 − MAE/MAE_persistence shown as measured, however small. */
import { cardTail } from './artifacts.js';

/** Columns of the table: [metric key, header]. */
const COLUMNS: [string, string][] = [
  ['mae_adj_close', 'MAE AdjClose'],
  ['rmse_adj_close', 'RMSE AdjClose'],
  ['skill_adj_close', 'skill AdjClose'],
  ['mae_return', 'MAE return'],
  ['skill_return', 'skill return'],
  ['mae_volume', 'MAE Volume'],
  ['rmse_volume', 'RMSE Volume'],
  ['skill_volume', 'skill Volume'],
  ['mae_volume_log', 'MAE log1p Vol'],
  ['skill_volume_log', 'skill log1p Vol'],
];

/** A metric for people: `-` when there is none or it is undefined (NaN, null from the registry: a skill whose persistence error is 0). */
const fmt = (x: number | null | undefined): string => (x === undefined || x === null || !Number.isFinite(x) ? '-' : Math.abs(x) >= 1e4 ? x.toExponential(4) : x.toPrecision(5));

/** The table's cells: one row per model (the forecast marked), the model's name first, then each metric. */
export function forecastMetricRows(metrics: Record<string, Record<string, number>>): string[][] {
  return Object.entries(metrics).map(([k, m]) => [k === 'forecast' ? 'forecast (this model)' : k, ...COLUMNS.map(([key]) => fmt(m[key]))]);
}

/** The metric keys of the table's columns (the `--json` names), in order. */
export const FORECAST_METRIC_KEYS: readonly string[] = COLUMNS.map(([key]) => key);

/** A markdown table (card.md), one row per model (the forecast marked). */
export function forecastMetricsTable(metrics: Record<string, Record<string, number>>): string {
  return [
    `| model | ${COLUMNS.map((c) => c[1]).join(' | ')} |`,
    `|---|${COLUMNS.map(() => '---').join('|')}|`,
    ...forecastMetricRows(metrics).map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

export interface ForecastCardInput {
  modelId: string;
  createdAt: string;
  dataPath: string;
  dataHash: string;
  split: { train_rows: number; valid_rows: number; test_rows: number; test_from: string | null; valid_from: string | null };
  test: { date_min: string; date_max: string };
  features: readonly string[];
  params: Record<string, unknown>;
  /** The protocol's line (ml/forecast-train: which rows chose the trees, which the final boosters were fitted on). */
  protocol: string;
  metrics: Record<string, Record<string, number>>;
  seconds: number;
  lineage: Record<string, string>;
}

export function renderForecastCard(c: ForecastCardInput): string {
  const skill = c.metrics.forecast?.skill_adj_close;
  return [
    `# Model card: ${c.modelId}`,
    '',
    '- kind: `forecast` — one global gbdt pair over all symbols: the next trading day\'s log return of Adj Close, and its Volume (log1p, boosted from persistence)',
    `- inputs (known at the close of day t): ${c.features.join(', ')}`,
    `- created: ${c.createdAt}; training took ${c.seconds.toFixed(1)} s`,
    `- data: \`${c.dataPath}\` (hash \`${c.dataHash.slice(0, 16)}\`)`,
    `- split: time, on the target day; train ${c.split.train_rows} rows, validation ${c.split.valid_rows}, test ${c.split.test_rows} (test targets ${c.test.date_min} .. ${c.test.date_max}; validation from ${c.split.valid_from})`,
    `- protocol: ${c.protocol}; promotion compares the early-stopped boosters on the validation window, never the test slice`,
    '',
    '## Test metrics (next to the baselines)',
    '',
    'skill = 1 − MAE/MAE_persistence (persistence: tomorrow = today). 0 means no better than persistence; below 0, worse.',
    `The Adj Close skill of this model is ${fmt(skill)}${skill !== undefined && Math.abs(skill) < 0.01 ? ' — essentially none: day-ahead prices are close to a random walk' : ''}.`,
    '',
    forecastMetricsTable(c.metrics),
    '',
    ...cardTail(c.params, c.lineage),
  ].join('\n');
}
