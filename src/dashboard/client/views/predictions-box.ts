/** @module dashboard/client/views/predictions-box
 * The symbol chart's predicted-volume downloads (CSV, Parquet) by the model that drew them, each
 * with the `stockpipe export predictions` command that writes the same file. */
import type { ExportFormat, RowFilter } from '../api-export.js';
import { exportFileName } from '../api-export.js';
import { predictionsCommand, predictionsUrl } from '../api-predictions.js';
import { h } from '../dom.js';

export function predictionsBox(model: string, f: RowFilter, label: string): HTMLElement {
  const line = (format: ExportFormat): HTMLElement => h('div', { class: 'export-line' },
    h('a', { class: 'button', href: predictionsUrl(model, f, format), download: exportFileName('predictions', f, format), 'data-export-predictions': format }, `Download ${format === 'csv' ? 'CSV' : 'Parquet'}`),
    h('code', { class: 'cli', 'data-cli-predictions': format, title: 'The same file from the command line (in the served workspace)' }, predictionsCommand(model, f, format)));
  return h('div', { class: 'export-box', 'data-box': 'predictions' }, h('small', null, `Export ${label}:`), line('csv'), line('parquet'));
}
