/** @module ml/export-predictions
 * `stockpipe export predictions --model ID|ALIAS [--symbols A,B] [--from D] [--to D] [--as-of X]
 * --out FILE` (docs/cli.md): every row of the features table (as of a snapshot, narrowed like the
 * other exports, sorted by Symbol, Date) with the volume model's prediction for it — the model's
 * scorer (ml/volume-model), rounded and clamped at 0 as `GET /predict` answers, null where a
 * feature is null or the value is no volume (servedVolume). Columns: Symbol, Date, Volume, vol_moving_avg, adj_close_rolling_med,
 * predicted_volume, model_id. The rows are streamed from DuckDB chunk by chunk into a temp CSV
 * (one JS value per cell), then COPYed with explicit types to CSV or Parquet, so both formats come
 * out of DuckDB as `export` writes them. The dashboard's predictions download writes through here. */
import { readModelJson } from './artifacts.js';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { StockpipeError } from '../core/errors.js';
import { scratchFolder, scratchName, statOrNull, withAtomicOutput, withScratch } from '../core/fs.js';
import type { Workspace } from '../core/workspace.js';
import { openDuckDB, queryRows, sqlPath, sqlString } from '../db/duckdb.js';
import { EXPORT_PARQUET } from '../db/parquet-format.js';
import { checkExportFilter, checkSymbols, exportFormat, type ExportData, type ExportFilter } from '../store/export.js';
import { readTable, sourceOf } from '../store/read.js';
import { scorerFromJSON, servedVolume, type VolumeScorer } from './volume-model.js';

/** A registered model as this export needs it (registry/store's ModelVersion has these fields). */
export interface ScoringModel {
  id: string;
  kind: string;
  /** The model's folder (model.json in it). */
  path: string;
}

/** The columns written, in order. */
export const PREDICTION_COLUMNS = ['Symbol', 'Date', 'Volume', 'vol_moving_avg', 'adj_close_rolling_med', 'predicted_volume', 'model_id'] as const;

/** `stockpipe export predictions --json` data: export's, with the model that scored the rows. */
export interface PredictionExportData extends ExportData {
  model_id: string;
  model_kind: string;
}

/** One prediction as GET /predict answers it (rounded, at least 0), or null when a feature is null
 * or the model's value is no volume (beyond 2^53 − 1 or NaN, where GET /predict answers 422). */
export function servedPrediction(scorer: VolumeScorer, vma: number | null, acm: number | null): number | null {
  if (vma === null || acm === null || !Number.isFinite(vma) || !Number.isFinite(acm)) return null;
  return servedVolume(scorer.predict(vma, acm));
}

/** The scorer of a registered volume model; a day-ahead model is SP_ERR_USAGE (its numbers are `export forecasts`). */
export async function volumeScorerOf(m: ScoringModel): Promise<VolumeScorer> {
  if (m.kind === 'forecast') {
    throw new StockpipeError('SP_ERR_USAGE', `model ${m.id} is a day-ahead (forecast) model: predictions are a volume model's (gbdt, rf, polyreg, naive)`, { hint: 'Give a volume model (e.g. champion: `--model champion`, or `model=champion` on GET /export/predictions), or export its forecasts (`stockpipe export forecasts`, GET /export/forecasts).' });
  }
  const { file, text } = await readModelJson(m);
  return scorerFromJSON(text, file);
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
const field = (s: string): string => (/[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const numeric = (x: unknown): string => (x === null || x === undefined ? '' : String(x));
const asNumber = (x: unknown): number | null => (x === null || x === undefined ? null : Number(x));

/** Writes the predictions of `model` for the features rows of `filter` (as of `asOf`) to `out` (absolute). */
export async function exportPredictions(ws: Workspace, model: ScoringModel, out: string, opts: ExportFilter & { asOf?: string; format?: string; outFlag?: string } = {}): Promise<PredictionExportData> {
  const format = exportFormat(out, opts.format);
  checkExportFilter(opts);
  if ((await statOrNull(out))?.isDirectory()) {
    throw new StockpipeError('SP_ERR_USAGE', `--out ${out} is a folder`, { hint: 'Give a file name, e.g. --out predictions.csv.' });
  }
  const scorer = await volumeScorerOf(model);
  const t = readTable(ws, 'features', opts.asOf);
  const w: string[] = [];
  if (opts.symbols !== undefined) w.push(`"Symbol" IN (${opts.symbols.map(sqlString).join(', ')})`);
  if (opts.from !== undefined) w.push(`"Date" >= ${sqlString(opts.from)}`);
  if (opts.to !== undefined) w.push(`"Date" <= ${sqlString(opts.to)}`);
  const where = w.length === 0 ? '' : ` WHERE ${w.join(' AND ')}`;
  return withScratch(join(await scratchFolder(ws.tmpDir), scratchName('predictions', 'csv')), async (scored) => {
    const db = await openDuckDB(ws.duckdbSettings());
    let rows = 0;
    try {
      await checkSymbols(db.connection, t, opts.symbols);
      await withAtomicOutput(scored, async (tmp) => {
        const file = createWriteStream(tmp);
        const done = once(file, 'close');
        try {
          file.write(`${PREDICTION_COLUMNS.join(',')}\n`);
          const result = await db.connection.stream(`SELECT "Symbol", CAST("Date" AS VARCHAR), "Volume", "vol_moving_avg", "adj_close_rolling_med" FROM ${sourceOf(t)}${where} ORDER BY "Symbol", "Date"`);
          const id = field(model.id);
          for (;;) {
            const chunk = await result.fetchChunk();
            if (!chunk || chunk.rowCount === 0) break;
            const [sym, day, vol, vma, acm] = chunk.getColumns();
            let text = '';
            for (let i = 0; i < chunk.rowCount; i++) {
              const p = servedPrediction(scorer, asNumber(vma![i]), asNumber(acm![i]));
              text += `${field(String(sym![i]))},${String(day![i])},${numeric(vol![i])},${numeric(vma![i])},${numeric(acm![i])},${numeric(p)},${id}\n`;
            }
            rows += chunk.rowCount;
            if (!file.write(text)) await once(file, 'drain');
          }
        } finally {
          file.end();
          await done;
        }
      });
      const types = "{'Symbol': 'VARCHAR', 'Date': 'DATE', 'Volume': 'BIGINT', 'vol_moving_avg': 'DOUBLE', 'adj_close_rolling_med': 'DOUBLE', 'predicted_volume': 'BIGINT', 'model_id': 'VARCHAR'}";
      const options = format === 'parquet' ? EXPORT_PARQUET : 'FORMAT csv, HEADER true';
      await withAtomicOutput(out, async (tmp) => {
        await queryRows(db.connection, `COPY (SELECT * FROM read_csv(${sqlPath(scored)}, header = true, columns = ${types}, quote = '"', escape = '"')) TO ${sqlString(tmp)} (${options})`);
      }, opts.outFlag);
    } finally {
      db.close();
    }
    const st = await statOrNull(out);
    return {
      table: 'predictions', snapshot_id: t.snapshot.id, created_at: t.snapshot.created_at, format, path: out, rows, bytes: st?.size ?? 0,
      symbols: opts.symbols === undefined ? null : [...opts.symbols], from: opts.from ?? null, to: opts.to ?? null,
      model_id: model.id, model_kind: model.kind,
    };
  });
}
