/** The symbol charts' URL state (chart-controls) and the download command line (api-export), which
 * must name the file as the server does (routes-export downloadName). */
import { describe, expect, it } from 'vitest';
import { exportCommand, exportFileName } from '../api-export.js';
import { downloadName } from '../../routes-export.js';
import { parseState, resolveRange, stateQuery } from './chart-controls.js';

describe('chart state in the URL', () => {
  it('parses what it writes, and ignores malformed values and the charted symbol among the overlays', () => {
    const s = parseState(new URLSearchParams('from=2019-01-02&to=2019-02-30&log=1&vs=msft,AAPL,,IBM&norm=abs'), 'AAPL');
    // Overlays as written: symbols are case-sensitive (the view resolves `msft` to the symbol it is).
    expect(s).toEqual({ range: null, from: '2019-01-02', to: null, log: true, overlays: ['msft', 'IBM'], normalise: false });
    expect(parseState(new URLSearchParams(Object.entries(stateQuery(s)).filter(([, v]) => v !== null) as [string, string][]), 'AAPL')).toEqual(s);
    expect(parseState(new URLSearchParams('range=1Y&from=2019-01-02'), 'X')).toMatchObject({ range: '1Y', from: null });
    expect(parseState(new URLSearchParams('range=7Y'), 'X').range).toBeNull();
    expect(parseState(new URLSearchParams('from=2019-13-45&to=20190102'), 'X')).toMatchObject({ from: null, to: null });
  });

  it('counts presets back from the last bar (month ends clamp), YTD from its January 1st, Max open', () => {
    const at = (range: string): { from?: string; to?: string } => resolveRange(parseState(new URLSearchParams(`range=${range}`), 'X'), '2020-03-31');
    expect(at('1M')).toEqual({ from: '2020-02-29', to: '2020-03-31' });
    // A preset longer than the symbol's history starts at its first bar.
    const since = (range: string): { from?: string; to?: string } => resolveRange(parseState(new URLSearchParams(`range=${range}`), 'X'), '2020-03-31', '2019-06-03');
    expect(since('5Y')).toEqual({ from: '2019-06-03', to: '2020-03-31' });
    expect(since('3M')).toEqual({ from: '2019-12-31', to: '2020-03-31' });
    expect(at('3M')).toEqual({ from: '2019-12-31', to: '2020-03-31' });
    expect(at('1Y')).toEqual({ from: '2019-03-31', to: '2020-03-31' });
    expect(at('5Y')).toEqual({ from: '2015-03-31', to: '2020-03-31' });
    expect(at('YTD')).toEqual({ from: '2020-01-01', to: '2020-03-31' });
    expect(at('Max')).toEqual({});
  });
});

describe('export command line', () => {
  it('names the same file as the server and quotes what a shell would split', () => {
    const f = { symbols: ['AAPL', 'BRK-A'], from: '2019-01-02', to: '2019-12-31' };
    for (const format of ['csv', 'parquet'] as const) expect(exportFileName('features', f, format)).toBe(downloadName('features', f, format));
    expect(exportFileName('prices', { symbols: ['A', 'B', 'C', 'D'] }, 'csv')).toBe(downloadName('prices', { symbols: ['A', 'B', 'C', 'D'] }, 'csv'));
    expect(exportCommand('features', f, 'csv')).toBe('stockpipe export features --symbols AAPL,BRK-A --from 2019-01-02 --to 2019-12-31 --format csv --out features_AAPL-BRK-A_2019-01-02_2019-12-31.csv');
    expect(exportCommand('prices', { symbols: ['AGM$A'] }, 'parquet')).toBe("stockpipe export prices --symbols 'AGM$A' --format parquet --out prices_AGM_A.parquet");
  });
});
