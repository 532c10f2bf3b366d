/** The symbol explorer's search and route: symbols are case-sensitive (a file `aapl.csv` is the
 * symbol `aapl`), so one with lower-case letters must be found and opened as it is. */
import { describe, expect, it } from 'vitest';
import type { SymbolInfo } from '../api.js';
import { findSymbol, resolveNames, search } from './symbols.js';

const sym = (symbol: string, name: string | null = null): SymbolInfo => ({ symbol, name, asset: 'stock', rows: 1, date_min: '2020-01-02', date_max: '2020-01-02' }) as SymbolInfo;

describe('symbol search and route', () => {
  const list = [sym('AAPL', 'Apple Inc.'), sym('BRK.a'), sym('msft'), sym('MSFT')];

  it('finds a symbol with lower-case letters by any case of its prefix', () => {
    expect(search(list, 'brk').map((s) => s.symbol)).toEqual(['BRK.a']);
    expect(search(list, 'BRK.A').map((s) => s.symbol)).toEqual(['BRK.a']);
    expect(search(list, 'apple').map((s) => s.symbol)).toEqual(['AAPL']);
  });

  it('opens the exact symbol the URL names, else the one equal ignoring case', () => {
    expect(findSymbol(list, 'BRK.a')?.symbol).toBe('BRK.a');
    expect(findSymbol(list, 'msft')?.symbol).toBe('msft');
    expect(findSymbol(list, 'MSFT')?.symbol).toBe('MSFT');
    expect(findSymbol(list, 'aapl')?.symbol).toBe('AAPL');
    expect(findSymbol(list, 'IBM')).toBeUndefined();
  });

  it('resolves typed filter names (the Data view, the overlays) to the symbols they are, without upper-casing a lower-case one', () => {
    expect(resolveNames(list, ['brk.a', 'msft', 'Msft', 'aapl', 'IBM'])).toEqual(['BRK.a', 'msft', 'AAPL', 'IBM']);
    expect(resolveNames(list, ['MSFT', 'msft'])).toEqual(['MSFT', 'msft']);
  });
});
