import { describe, expect, it } from 'vitest';
import { parseBarsCsv } from './csv-parse.js';
import { HEADER as H, RANGE_CASES, caseRow as row, type Column, type Expect } from '../../test/fixtures/number-cases.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function kept(p: ReturnType<typeof parseBarsCsv>, column: Column): number | bigint {
  if (column === 'Volume') return p.volumeExact ? p.volumeExact[0]! : p.volume[0]! + 0; // -0 is written as 0
  return { Open: p.open, High: p.high, Low: p.low, Close: p.close, 'Adj Close': p.adjClose }[column][0]!;
}

describe('number ranges (anything that does not fit the column type is malformed)', () => {
  const label = (t: string, e: Expect): string => `${t.length > 24 ? `${t.slice(0, 12)}…(${t.length} chars)` : JSON.stringify(t)} → ${e === 'null' ? 'null' : 'keep' in e ? `keep ${String(e.keep)}` : e.reason}`;
  it.each(RANGE_CASES.map(([c, t, e]) => [`${c}: ${label(t, e)}`, c, t, e] as const))('%s', (_, column, text, expected) => {
    const p = parseBarsCsv(enc(`${H}${row(column, text)}`));
    if (expected === 'null') {
      expect(p.dropped.null_values).toBe(1);
    } else if ('keep' in expected) {
      expect(p.issues).toEqual([]);
      expect(kept(p, column)).toBe(expected.keep);
    } else {
      expect(p.dropped.malformed).toBe(1);
      expect(p.issues.map((i) => [i.line, i.reason])).toEqual([[2, `${column} ${expected.reason}`]]);
      if (/not finite|out of the int64 range/.test(expected.reason)) expect(p.issues[0]!.value).toBe(text.length > 40 ? `${text.slice(0, 40)}…` : text);
    }
    expect(p.rowsRead).toBe(1);
  });

  it('keeps exact volumes beyond 2^53 through the date sort and next to ordinary ones', () => {
    const p = parseBarsCsv(enc(`${H}2020-01-03,1,1,1,1,1,9223372036854775807\n2020-01-02,1,1,1,1,1,7\n2020-01-06,1,1,1,1,1,9007199254740993\n`));
    expect(Array.from(p.volumeExact!)).toEqual([7n, 9223372036854775807n, 9007199254740993n]);
    expect(Array.from(p.volume)).toEqual([7, Number(9223372036854775807n), 9007199254740992]); // the doubles nearest the exact values
  });

  it('leaves volumeExact out when every volume is below 2^53', () => {
    expect(parseBarsCsv(enc(`${H}2020-01-02,1,1,1,1,1,9007199254740991\n`)).volumeExact).toBeUndefined();
  });
});

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** A random decimal text: sign, 0–25 integer digits, maybe a fraction (often zeros), maybe an exponent. */
function randomDecimal(rnd: () => number): string {
  const digits = (k: number, zeros: boolean): string => Array.from({ length: k }, () => (zeros ? '0' : String(Math.floor(rnd() * 10)))).join('');
  let t = (rnd() < 0.15 ? '-' : '') + digits(1 + Math.floor(rnd() * 25), false);
  if (rnd() < 0.4) t += `.${digits(Math.floor(rnd() * 25), rnd() < 0.5)}`;
  if (rnd() < 0.3) t += `e${rnd() < 0.5 ? '-' : ''}${Math.floor(rnd() * 30)}`;
  return t;
}

/** Naive twin of the Volume rule: shift the decimal point by hand, then compare strings. */
function naiveVolume(text: string): bigint | string {
  const [mant, expText = '0'] = text.toLowerCase().split('e');
  const neg = mant!.startsWith('-');
  let [int, frac = ''] = mant!.replace('-', '').split('.');
  for (let e = Number(expText); e > 0; e--) {
    int += frac[0] ?? '0';
    frac = frac.slice(1);
  }
  for (let e = Number(expText); e < 0; e++) {
    frac = (int!.slice(-1) || '0') + frac;
    int = int!.slice(0, -1);
  }
  if (/[1-9]/.test(frac)) return 'is not a whole number';
  const v = BigInt(int || '0') * (neg ? -1n : 1n);
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return 'is out of the int64 range';
  if (v < 0n) return 'is negative';
  return v;
}

describe('number kernels against naive twins', () => {
  it('Volume: whole, in int64, not negative — equal to the naive decimal-point shift on many seeds', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = lcg(seed);
      const texts = Array.from({ length: 250 }, () => randomDecimal(rnd));
      for (const text of texts) {
        const p = parseBarsCsv(enc(`${H}${row('Volume', text)}`));
        const want = naiveVolume(text);
        if (typeof want === 'string') expect(p.issues[0]?.reason, text).toBe(`Volume ${want}`);
        else expect(p.volumeExact ? p.volumeExact[0] : BigInt(p.volume[0]!), text).toBe(want);
      }
    }
  });

  it('prices: equal Number() when finite, malformed when not, on many seeds', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = lcg(1000 + seed);
      for (let k = 0; k < 250; k++) {
        let text = randomDecimal(rnd);
        if (rnd() < 0.2) text = `${text.split('e')[0]}e${Math.floor(rnd() * 700) - 350}`;
        if (rnd() < 0.05) text = '9'.repeat(300 + Math.floor(rnd() * 20));
        const p = parseBarsCsv(enc(`${H}${row('Close', text)}`));
        const want = Number(text);
        if (Number.isFinite(want)) expect(p.close[0], text).toBe(want);
        else expect(p.issues[0]?.reason, text).toBe('Close is not finite');
      }
    }
  });
});
