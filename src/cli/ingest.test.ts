import { describe, expect, it } from 'vitest';
import type { IngestReport } from '../etl/ingest-report.js';
import { reportHuman } from './ingest.js';

const base = {
  output: '/ws/tables/prices', source: 'dir', files: 1, rows_read: 1, rows_kept: 1, rows_dropped: { null_values: 0, malformed: 0, duplicate: 0, blank: 0 },
  symbols: 1, symbols_without_metadata: 1, duplicates: 0, date_min: '2020-01-02', date_max: '2020-01-02', seconds: 0.1, cached: false,
  metadata_file: null, metadata_rows: 0, metadata_duplicate_symbols: 0, metadata_duplicates: [], files_ignored: [], files_skipped: [], empty_files: [], malformed: [], malformed_total: 0, strict: false, mode: 'full',
} as unknown as IngestReport;

describe('ingest report in a terminal', () => {
  it('names the CSV files it did not read (Stocks/A.csv was only in --json; the terminal said nothing of it)', () => {
    const text = reportHuman({ ...base, files_ignored: ['ETFs/EEE.csv', 'README.md', 'Stocks/AAA.csv'] });
    expect(text).toContain('not read: 2 CSV files not in the stocks/ or etfs/ layout: ETFs/EEE.csv, Stocks/AAA.csv');
    expect(text).not.toContain('README.md');
    const many = reportHuman({ ...base, files_ignored: Array.from({ length: 7 }, (_, i) => `x/F${i}.csv`) });
    expect(many).toContain('not read: 7 CSV files not in the stocks/ or etfs/ layout: x/F0.csv, x/F1.csv, x/F2.csv, x/F3.csv, x/F4.csv, … 2 more (see --json: files_ignored)');
    expect(reportHuman(base)).not.toContain('not read');
  });

  it('says which symbols the metadata file names twice, otherwise, and which name is used (first wins, unreported before)', () => {
    const dups = Array.from({ length: 7 }, (_, i) => ({ symbol: `S${i}`, kept: `Name ${i}`, ignored: [`Other ${i}`] }));
    const text = reportHuman({ ...base, metadata_file: 'symbols_valid_meta.csv', metadata_duplicate_symbols: 7, metadata_duplicates: dups.slice(0, 5) });
    expect(text).toContain('  metadata: 7 symbols given more than one Security Name in symbols_valid_meta.csv, the first row\'s used: S0 ("Name 0"; not "Other 0"), S1 ("Name 1"; not "Other 1"), S2 ("Name 2"; not "Other 2"), S3 ("Name 3"; not "Other 3"), S4 ("Name 4"; not "Other 4"), … 2 more (see --json: metadata_duplicates)');
    expect(reportHuman(base)).not.toContain('metadata:');
    // A cached report written before these fields: nothing said.
    expect(reportHuman({ ...base, metadata_duplicate_symbols: undefined, metadata_duplicates: undefined } as unknown as typeof base)).not.toContain('metadata:');
  });
});
