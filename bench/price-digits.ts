/** @module bench/price-digits
 * `tsx bench/price-digits.ts DIR…`: the significant-digit mix of the price fields (Open … Adj Close)
 * of every Kaggle-layout CSV under each DIR, and its file-length mix, to compare the synthetic
 * generator with the real data (measured on the full Kaggle dataset: 39% 17 digits, 36% 16, 5% 15). The counting is
 * sources/synthetic/digits.ts's. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { countPriceDigits, digitShares, emptyDigitCounts } from '../src/sources/synthetic/digits.js';

for (const dir of process.argv.slice(2)) {
  const counts = emptyDigitCounts();
  const lengths: number[] = [];
  for (const asset of ['stocks', 'etfs']) {
    let names: string[] = [];
    try {
      names = readdirSync(join(dir, asset));
    } catch {
      continue; // a folder without etfs/ (or stocks/)
    }
    for (const name of names) {
      if (!name.endsWith('.csv')) continue;
      const bytes = readFileSync(join(dir, asset, name));
      lengths.push(countPriceDigits(bytes, counts));
    }
  }
  lengths.sort((a, b) => a - b);
  const q = (p: number): number => lengths[Math.min(lengths.length - 1, Math.floor(p * lengths.length))] ?? 0;
  const band = (lo: number, hi: number): string => `${((100 * lengths.filter((n) => n >= lo && n < hi).length) / Math.max(1, lengths.length)).toFixed(0)}%`;
  const s = digitShares(counts);
  process.stdout.write(
    `${JSON.stringify({
      dir,
      files: lengths.length,
      rows: lengths.reduce((a, b) => a + b, 0),
      price_fields: counts.total,
      share_pct: { d17: s.d17, d16: s.d16, d15: s.d15, rest: s.rest },
      by_digits: Array.from(counts.byDigits),
      file_rows: { p10: q(0.1), p25: q(0.25), median: q(0.5), p75: q(0.75), p90: q(0.9), max: q(1) },
      file_rows_mix: { under_1k: band(0, 1000), '1k_5k': band(1000, 5000), '5k_10k': band(5000, 10000), '10k_plus': band(10000, Infinity) },
    })}\n`,
  );
}
