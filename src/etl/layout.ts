/** @module etl/layout
 * Which files of a source are daily bars: <anything>/stocks/<SYMBOL>.csv and .../etfs/<SYMBOL>.csv,
 * and where the metadata file is. Symbol = file name without .csv (BCV-A style names kept). */

export type Asset = 'stock' | 'etf';

export interface BarFile {
  /** Path relative to the source root (or zip entry name). */
  path: string;
  symbol: string;
  asset: Asset;
  size: number;
}

export interface SourceLayout {
  bars: BarFile[];
  /** Path of symbols_valid_meta.csv, or null when the source has none. */
  metadata: string | null;
  /** Files that are neither bars nor metadata (reported, not read). */
  ignored: string[];
}

/** Classifies the files of a source. Bars are sorted by symbol, then path (etfs/ before stocks/). */
export function classifyFiles(files: readonly { path: string; size: number }[]): SourceLayout {
  const bars: BarFile[] = [];
  const ignored: string[] = [];
  let metadata: string | null = null;
  for (const f of files) {
    const parts = f.path.split(/[\\/]/);
    const base = parts[parts.length - 1] ?? '';
    const folder = parts[parts.length - 2];
    if (base === 'symbols_valid_meta.csv') {
      if (metadata === null || f.path.length < metadata.length) metadata = f.path;
      continue;
    }
    // A dot file or one in a dot folder (macOS' ._X.csv, .Trash/) is not read, as a folder source skips them (sources/dir): an archive lists them too.
    if (base.toLowerCase().endsWith('.csv') && (folder === 'stocks' || folder === 'etfs') && base.length > 4 && !parts.some((p) => p.startsWith('.'))) {
      bars.push({ path: f.path, symbol: base.slice(0, -4), asset: folder === 'stocks' ? 'stock' : 'etf', size: f.size });
    } else ignored.push(f.path);
  }
  bars.sort((a, b) => cmp(a.symbol, b.symbol) || cmp(a.path, b.path));
  return { bars, metadata, ignored };
}

/** Byte-order comparison (DuckDB sorts VARCHAR by bytes; symbols are ASCII). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
