/** @module sources/synthetic/digits
 * Counts the significant digits of the price fields (Open … Adj Close) of a Kaggle-layout CSV, the
 * measure the generator is tuned to (the full Kaggle dataset's measured mix, docs/data.md). Used by bench/price-digits.ts and the synthetic
 * tests; parsing for ingest is etl/csv-parse's. */

/** Price-field counts by significant digits (index 0 … 25; 25 also holds longer ones). */
export interface DigitCounts {
  byDigits: Float64Array;
  total: number;
}

export function emptyDigitCounts(): DigitCounts {
  return { byDigits: new Float64Array(26), total: 0 };
}

/**
 * Adds the price fields of one CSV file (bytes; header on the first line, columns 2–6) to `c` and
 * returns the file's data rows. Significant digits: the mantissa's digits without leading and
 * trailing zeros ('6.5456719398498535' → 17, '12.50' → 3, '0.0' → 0). Empty fields are skipped.
 */
export function countPriceDigits(bytes: Uint8Array, c: DigitCounts): number {
  let pos = bytes.indexOf(0x0a) + 1;
  if (pos === 0) return 0;
  let rows = 0;
  const n = bytes.length;
  while (pos < n) {
    let end = bytes.indexOf(0x0a, pos);
    if (end < 0) end = n;
    rows++;
    let field = 0;
    let fieldStart = pos;
    let first = -1; // first and last nonzero digit of the field
    let last = -1;
    let dot = -1;
    for (let i = pos; i <= end; i++) {
      const ch = i < end ? bytes[i]! : 0x2c;
      if (ch === 0x2c || ch === 0x0d) {
        if (field >= 1 && field <= 5 && i > fieldStart) {
          const digits = first < 0 ? 0 : last - first + 1 - (dot > first && dot < last ? 1 : 0);
          c.byDigits[Math.min(25, digits)]!++;
          c.total++;
        }
        if (ch === 0x0d) break;
        field++;
        fieldStart = i + 1;
        first = -1;
        last = -1;
        dot = -1;
      } else if (ch === 0x2e) dot = i;
      else if (ch >= 0x31 && ch <= 0x39) {
        if (first < 0) first = i;
        last = i;
      }
    }
    pos = end + 1;
  }
  return rows;
}

/** Percent (one decimal) of price fields with 17, 16, 15 and any other number of digits. */
export function digitShares(c: DigitCounts): { d17: number; d16: number; d15: number; rest: number } {
  const pct = (k: number): number => Math.round((1000 * c.byDigits[k]!) / Math.max(1, c.total)) / 10;
  const d17 = pct(17);
  const d16 = pct(16);
  const d15 = pct(15);
  return { d17, d16, d15, rest: Math.round((100 - d17 - d16 - d15) * 10) / 10 };
}
