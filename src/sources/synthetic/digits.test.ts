/** @module sources/synthetic/digits.test
 * The generator's number formats and file lengths against the real data's (the full Kaggle dataset's measured mix, docs/data.md): digit
 * counting against a naive twin, then the mix of a generated sample on the benchmark calendar. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toDayNumber } from '../../core/calendar.js';
import { createRng, deriveSeed } from '../../core/rng.js';
import { calendarBytes, pickEmptyDays } from './calendar.js';
import { csvCapacity, symbolCsv } from './csv.js';
import { countPriceDigits, digitShares, emptyDigitCounts } from './digits.js';
import { SYNTHETIC_BENCH, resolveSyntheticOptions, syntheticDayCount } from './options.js';
import { planSymbols } from './plan.js';
import { PriceCache } from './price-cache.js';
import { DECIMALS_FROM, SIXTEENTHS_FROM, SeriesBuffers, generateSeries } from './price-model.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
// ../shared from the repo, or from a worktree one level deeper.
const SAMPLE =
  [resolve(ROOT, '..', 'shared'), resolve(ROOT, '..', '..', 'shared')].map((d) => join(d, 'data', 'kaggle-sample')).find((d) => existsSync(d)) ??
  resolve(ROOT, '..', 'shared', 'data', 'kaggle-sample');

/** The naive twin: significant digits of each non-empty price field by string operations. */
function naiveDigits(text: string): number[] {
  const out = new Array<number>(26).fill(0);
  for (const line of text.split('\n').slice(1)) {
    if (line === '') continue;
    for (const f of line.replace(/\r$/, '').split(',').slice(1, 6)) {
      if (f === '') continue;
      const d = f.replace('-', '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
      out[Math.min(25, d.length)]!++;
    }
  }
  return out;
}

/** CSV bytes of every `stride`-th symbol of the plan for `opts`, generated in memory. */
function* sampleFiles(opts: typeof SYNTHETIC_BENCH, stride: number): Generator<Uint8Array> {
  const o = resolveSyntheticOptions(opts);
  const days = syntheticDayCount(o.years);
  const cal = calendarBytes(o.start, days);
  const from = (date: string): number => {
    const i = cal.days.findIndex((d) => d >= toDayNumber(date));
    return i < 0 ? days : i;
  };
  const eras = { sixteenthsFrom: from(SIXTEENTHS_FROM), decimalsFrom: from(DECIMALS_FROM) };
  const b = new SeriesBuffers(days);
  const cache = new PriceCache();
  const buf = Buffer.allocUnsafe(csvCapacity(days + 8));
  const plans = planSymbols(o, days);
  for (let i = 0; i < plans.length; i += stride) {
    const plan = plans[i]!;
    const rng = createRng(deriveSeed(o.seed, plan.index));
    generateSeries(plan, rng, b, eras);
    const empty = plan.quirks.has('empty-row') ? pickEmptyDays(plan, cal, rng) : [];
    yield buf.subarray(0, symbolCsv(plan, b, cal, cache, empty, buf));
  }
}

describe('countPriceDigits', () => {
  it('equals the naive string count on generated files and on hand-made lines', () => {
    const hand = 'Date,Open,High,Low,Close,Adj Close,Volume\n2000-01-03,6.5456719398498535,12.5,0.0,1200.0,-0.0434,5\n2000-01-04,,,,,,\r\n2000-01-05,0.09972153604030609,25.0,100.25,0.5,3,7';
    const c = emptyDigitCounts();
    expect(countPriceDigits(Buffer.from(hand), c)).toBe(3);
    expect(Array.from(c.byDigits)).toEqual(naiveDigits(hand));
    expect(c.byDigits[17]).toBe(1);
    expect(c.byDigits[0]).toBe(1); // 0.0
    let files = 0;
    for (const bytes of sampleFiles({ ...SYNTHETIC_BENCH, symbols: 60 }, 3)) {
      const one = emptyDigitCounts();
      countPriceDigits(bytes, one);
      expect(Array.from(one.byDigits)).toEqual(naiveDigits(Buffer.from(bytes).toString('latin1')));
      files++;
    }
    expect(files).toBe(20);
  });

  it('finds the full dataset\'s mix in the real sample', (ctx) => {
    const dirs = ['stocks', 'etfs'].map((a) => join(SAMPLE, a));
    let names: string[][];
    try {
      names = dirs.map((d) => readdirSync(d));
    } catch {
      process.stdout.write(`skipped: ${SAMPLE} is absent\n`);
      ctx.skip();
      return;
    }
    const c = emptyDigitCounts();
    dirs.forEach((d, k) => {
      for (const n of names[k]!) countPriceDigits(readFileSync(join(d, n)), c);
    });
    const s = digitShares(c);
    expect(Math.abs(s.d17 - 39)).toBeLessThanOrEqual(3);
    expect(Math.abs(s.d16 - 36)).toBeLessThanOrEqual(3);
    expect(Math.abs(s.d15 - 5)).toBeLessThanOrEqual(3);
  });
});

describe('the generator on the benchmark calendar (1962-01-02 … 2019-12)', () => {
  it('prints prices with the real digit mix: 39% 17 digits, 36% 16, 5% 15 (±3 points)', () => {
    const c = emptyDigitCounts();
    const lengths: number[] = [];
    // Every 4th of the quarter-size benchmark's 2,000 symbols: 500 files, ≈ 1.8M rows.
    for (const bytes of sampleFiles({ ...SYNTHETIC_BENCH, symbols: SYNTHETIC_BENCH.symbols / 4 }, 4)) lengths.push(countPriceDigits(bytes, c));
    const s = digitShares(c);
    expect(Math.abs(s.d17 - 39), JSON.stringify(s)).toBeLessThanOrEqual(3);
    expect(Math.abs(s.d16 - 36), JSON.stringify(s)).toBeLessThanOrEqual(3);
    expect(Math.abs(s.d15 - 5), JSON.stringify(s)).toBeLessThanOrEqual(3);
    // The rest are short exact values (fraction-era quotes such as 12.0625, 0.0, 25.5).
    expect(s.rest).toBeGreaterThan(12);
    // File lengths: long 1960s–1990s histories next to many short ones.
    const share = (p: (n: number) => boolean): number => lengths.filter(p).length / lengths.length;
    expect(share((n) => n >= 10_000)).toBeGreaterThan(0.07);
    expect(share((n) => n >= 14_000)).toBeGreaterThan(0.03);
    expect(share((n) => n < 1000)).toBeGreaterThan(0.25);
    expect(share((n) => n >= 1000 && n < 5000)).toBeGreaterThan(0.3);
  });
});
