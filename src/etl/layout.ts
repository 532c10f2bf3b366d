/** @module etl/layout
 * Which files of a source are daily bars: <anything>/stocks/<SYMBOL>.csv and .../etfs/<SYMBOL>.csv,
 * and where the metadata file is. Symbol = file name without .csv (BCV-A style names kept). */

import { barsFileOf, type Asset } from '../sources/manifest.js';

export type { Asset };

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
    if (parts[parts.length - 1] === 'symbols_valid_meta.csv') {
      if (metadata === null || f.path.length < metadata.length) metadata = f.path;
      continue;
    }
    const bar = barsFileOf(f.path);
    if (bar !== null) bars.push({ path: f.path, ...bar, size: f.size });
    else ignored.push(f.path);
  }
  bars.sort((a, b) => cmp(a.symbol, b.symbol) || cmp(a.path, b.path));
  return { bars, metadata, ignored };
}

/** Byte-order comparison (DuckDB sorts VARCHAR by bytes; symbols are ASCII). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
