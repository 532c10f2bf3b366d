/** @module dashboard/client/views/export-box
 * Download buttons (CSV, Parquet) for a table's rows as a view shows them, each with the
 * `stockpipe export` command that writes the same file (api-export.ts builds both). */
import { type ExportFormat, exportCommand, exportFileName, exportUrl, type RowFilter } from '../api-export.js';
import { h } from '../dom.js';

export function exportBox(table: string, f: RowFilter, label = `${table} rows`): HTMLElement {
  const line = (format: ExportFormat): HTMLElement => h('div', { class: 'export-line' },
    h('a', { class: 'button', href: exportUrl(table, f, format), download: exportFileName(table, f, format), 'data-export': format, 'data-table': table }, `Download ${format === 'csv' ? 'CSV' : 'Parquet'}`),
    h('code', { class: 'cli', 'data-cli': format, title: 'The same file from the command line (in the served workspace)' }, exportCommand(table, f, format)));
  return h('div', { class: 'export-box' }, h('small', null, `Export ${label}:`), line('csv'), line('parquet'));
}
