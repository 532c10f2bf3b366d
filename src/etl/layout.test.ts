import { describe, expect, it } from 'vitest';
import { classifyFiles } from './layout.js';

describe('classifyFiles', () => {
  it('reads stocks/ and etfs/ CSV files as bars, whatever the parent folders', () => {
    const l = classifyFiles([{ path: 'data/stocks/AAA.csv', size: 1 }, { path: 'etfs/EEE.CSV', size: 2 }, { path: 'symbols_valid_meta.csv', size: 3 }, { path: 'other/X.csv', size: 4 }]);
    expect(l.bars.map((b) => [b.path, b.symbol, b.asset])).toEqual([['data/stocks/AAA.csv', 'AAA', 'stock'], ['etfs/EEE.CSV', 'EEE', 'etf']]);
    expect(l.metadata).toBe('symbols_valid_meta.csv');
    expect(l.ignored).toEqual(['other/X.csv']);
  });

  it('ignores dot files and files in dot folders, as a folder source does (a zip read stocks/.x.csv as the symbol ".x")', () => {
    const l = classifyFiles([{ path: 'stocks/.x.csv', size: 1 }, { path: 'stocks/._AAA.csv', size: 1 }, { path: '.Trash/stocks/BBB.csv', size: 1 }, { path: 'stocks/CCC.csv', size: 1 }]);
    expect(l.bars.map((b) => b.symbol)).toEqual(['CCC']);
    expect(l.ignored).toEqual(['stocks/.x.csv', 'stocks/._AAA.csv', '.Trash/stocks/BBB.csv']);
  });
});
