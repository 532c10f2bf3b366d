/** @module dashboard/client/api-predictions
 * The predicted-volume download of the symbol chart: GET /export/predictions (docs/api.md) and the
 * `stockpipe export predictions --model ID` command that writes the same file. */
import { type ExportFormat, exportFileName, type RowFilter } from './api-export.js';

/** A shell word: bare when safe, else single-quoted. */
const word = (s: string): string => (/^[A-Za-z0-9._,:/=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`);

function query(model: string, f: RowFilter, format: ExportFormat): URLSearchParams {
  const q = new URLSearchParams({ model });
  if (f.symbols !== undefined && f.symbols.length > 0) q.set('symbols', f.symbols.join(','));
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  q.set('format', format);
  return q;
}

/** The download URL of `model`'s predictions for the rows of `f`. */
export function predictionsUrl(model: string, f: RowFilter, format: ExportFormat): string {
  return `/export/predictions?${query(model, f, format)}`;
}

/** The command that writes the same file as `predictionsUrl` (run in the served workspace). */
export function predictionsCommand(model: string, f: RowFilter, format: ExportFormat): string {
  const args = ['stockpipe', 'export', 'predictions', '--model', model];
  if (f.symbols !== undefined && f.symbols.length > 0) args.push('--symbols', f.symbols.join(','));
  if (f.from) args.push('--from', f.from);
  if (f.to) args.push('--to', f.to);
  args.push('--format', format, '--out', exportFileName('predictions', f, format));
  return args.map(word).join(' ');
}
