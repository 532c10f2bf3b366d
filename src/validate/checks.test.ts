import { describe, expect, it } from 'vitest';
import type { SymbolGroup } from '../db/table-stats.js';
import { checkCoverage } from './checks.js';
import type { Profile, Reference } from './types.js';

const names = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const reference = (symbols: string[]): Reference => ({ symbols: { names: symbols, count: symbols.length, rows_per_symbol: { min: 1, p50: 1, max: 1 } }, rows: symbols.length, version: 1 } as unknown as Reference);
const groups = (symbols: string[]): SymbolGroup[] => symbols.map((symbol) => ({ symbol, rows: 1, distinct_dates: 1 } as SymbolGroup));
const profile = (rows: number): Profile => ({ rows, columns: [], symbols: null, dates: null });

describe('checkCoverage: absent reference symbols', () => {
  // name, reference symbols, table symbols, expected [code, severity] of the Symbol anomaly (null: none)
  const REF27 = names('R', 27);
  const cases: [string, string[], string[], [string, string] | null][] = [
    ['same symbols', REF27, REF27, null],
    ['new listings only', REF27, [...REF27, ...names('N', 5)], null],
    ['one delisting', REF27, REF27.slice(1), ['missing_symbols', 'warning']],
    ['13 of 27 gone (48 %)', REF27, REF27.slice(13), ['missing_symbols', 'warning']],
    ['14 of 27 gone (52 %)', REF27, REF27.slice(14), ['identity_changed', 'error']],
    ['the issue: 26 of 27 gone, 499 new', REF27, [REF27[0]!, ...names('X', 498)], ['identity_changed', 'error']],
    ['half of two gone (not more than half)', ['A', 'B'], ['A'], ['missing_symbols', 'warning']],
    ['the only symbol replaced', ['A'], ['B'], ['identity_changed', 'error']],
  ];
  it.each(cases)('%s', (_name, ref, now, expected) => {
    const got = checkCoverage(reference(ref), profile(ref.length), groups(now)).filter((a) => a.column === 'Symbol');
    expect(got.map((a) => [a.code, a.severity])).toEqual(expected === null ? [] : [expected]);
  });
});
