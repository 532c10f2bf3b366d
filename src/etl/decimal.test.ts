/** @module etl/decimal.test
 * parseLongDecimal against its naive twin Number(text) (correctly rounded, as strtod and pandas'
 * round_trip reader): millions of random 15–19 digit decimals at every point position, float32
 * values printed as doubles, near-ties, and every price field of the real sample. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBarsCsv } from './csv-parse.js';
import { parseLongDecimal, SPLIT_K } from './decimal.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const SAMPLE =
  [resolve(ROOT, '..', 'shared'), resolve(ROOT, '..', '..', 'shared')].map((d) => join(d, 'data', 'kaggle-sample')).find((d) => existsSync(d)) ??
  resolve(ROOT, '..', 'shared', 'data', 'kaggle-sample');

/** Runs parseLongDecimal on a plain unsigned decimal the way csv-parse calls it. */
function viaParse(text: string, buf = Buffer.from(text, 'latin1')): number {
  const point = text.indexOf('.');
  const intEnd = point < 0 ? text.length : point;
  const frac = point < 0 ? 0 : text.length - point - 1;
  let m = 0; // csv-parse's mantissa: every digit, accumulated in doubles
  for (let i = 0; i < text.length; i++) if (i !== point) m = m * 10 + (buf[i]! - 0x30);
  return parseLongDecimal(buf, 0, intEnd, text.length, frac, m);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);
/** A positive finite double times 2^1100, as an exact BigInt. */
function scaled(y: number): bigint {
  F64[0] = y;
  const bits = U64[0]!;
  const e = Number(bits >> 52n);
  const frac = bits & ((1n << 52n) - 1n);
  const [m, exp] = e === 0 ? [frac, -1074] : [frac | (1n << 52n), e - 1075];
  return m << BigInt(exp + 1100);
}
/** True when the decimal text lies exactly halfway between two doubles (the naive check, in BigInt). */
function exactTie(text: string): boolean {
  const point = text.indexOf('.');
  const f = point < 0 ? 0 : text.length - point - 1;
  const w = BigInt(text.replace('.', ''));
  const x = Number(text);
  F64[0] = x;
  const bits = U64[0]!;
  for (const nb of [bits + 1n, bits - 1n]) {
    U64[0] = nb;
    const neighbour = F64[0]!;
    // w / 10^f = (x + neighbour) / 2  ⇔  w · 2^1101 = (x·2^1100 + neighbour·2^1100) · 10^f
    if (w << 1101n === (scaled(x) + scaled(neighbour)) * 10n ** BigInt(f)) return true;
  }
  return false;
}

/** Significant digits of a plain decimal. */
const sigDigits = (t: string): number => t.replace('.', '').replace(/^0+/, '').length;

describe('parseLongDecimal (correctly rounded 16–19 digit decimals)', () => {
  it('keeps A·10^K exact: (10^(n−K) − 1)·5^K < 2^53 for the split of each length', () => {
    for (let n = 16; n <= 19; n++) {
      const k = SPLIT_K[n]!;
      expect(BigInt(10) ** BigInt(n - k) * 5n ** BigInt(k) < 2n ** 53n).toBe(true);
      if (k > 0) expect(BigInt(10) ** BigInt(n - k + 1) * 5n ** BigInt(k - 1) >= 2n ** 53n).toBe(true); // the smallest such K
    }
  });

  it('equals Number() on 2 million random 15–19 digit decimals at every point position', () => {
    const rnd = lcg(11);
    const buf = Buffer.alloc(32);
    let checked = 0;
    let undecided = 0;
    for (let i = 0; i < 2_000_000; i++) {
      const n = 15 + Math.floor(rnd() * 5);
      let d = String(1 + Math.floor(rnd() * 9));
      while (d.length < n) d += String(Math.floor(rnd() * 10));
      const lead = rnd() < 0.2 ? '0'.repeat(1 + Math.floor(rnd() * 5)) : '';
      const point = Math.floor(rnd() * (n + 1));
      const text = lead !== '' ? `0.${lead.slice(1)}${d}` : point === n ? d : `${d.slice(0, point) || '0'}.${d.slice(point)}`;
      if (sigDigits(text) < 16) continue; // csv-parse's fast path takes these
      buf.write(text, 0, 'latin1');
      const v = viaParse(text, buf);
      checked++;
      if (Number.isNaN(v)) {
        // Undecided only beyond the covered range or at an exact tie (the caller's Number() decides).
        undecided++;
        const frac = text.includes('.') ? text.length - text.indexOf('.') - 1 : 0;
        if (frac <= 22 && !exactTie(text)) expect.fail(`${text} left undecided but is no tie`);
        continue;
      }
      if (v !== Number(text)) expect(v, text).toBe(Number(text));
    }
    expect(checked).toBeGreaterThan(1_400_000);
    expect(undecided).toBeLessThan(checked / 20);
  });

  it('equals Number() on float32 values printed as doubles (the real price format), deciding all', () => {
    const rnd = lcg(7);
    let undecided = 0;
    let checked = 0;
    for (let i = 0; i < 1_000_000; i++) {
      const x = Math.fround(rnd() * 10 ** (Math.floor(rnd() * 10) - 4));
      const text = String(x);
      if (text.includes('e') || sigDigits(text) < 16) continue;
      checked++;
      const v = viaParse(text);
      if (Number.isNaN(v)) undecided++;
      else if (v !== Number(text)) expect(v, text).toBe(Number(text));
    }
    expect(checked).toBeGreaterThan(500_000);
    expect(undecided).toBe(0);
  });

  it('leaves exact ties undecided and decides values a hair off a tie correctly', () => {
    // 2^53 + 1 and friends are exact midpoints between doubles: the caller's Number() rounds to even.
    for (const t of ['9007199254740993', '9007199254740995', '9007199254740993.0', '18014398509481986', '2195212687331213.625']) {
      expect(exactTie(t), t).toBe(true);
      expect(viaParse(t), t).toBeNaN();
    }
    for (const t of ['9007199254740994', '90071992547409.98', '9007199254740993.1', '9007199254740992.9', '1801439850948198.61', '1801439850948198.59']) {
      const v = viaParse(t);
      expect(Number.isNaN(v) ? Number(t) : v, t).toBe(Number(t));
    }
    // Midpoints of random doubles written out exactly (≤ 19 digits) and moved by one in the last digit.
    const rnd = lcg(3);
    let decidedOffTie = 0;
    for (let i = 0; i < 50_000; i++) {
      const x = Math.floor(2 ** 53 + rnd() * 2 ** 53) * 2 ** Math.floor(rnd() * 8); // 2^53 … 2^61, integral
      const mid = BigInt(x) + BigInt(2 ** Math.max(0, Math.floor(Math.log2(x)) - 53)); // halfway to the next double
      for (const w of [mid - 1n, mid, mid + 1n]) {
        const t = String(w);
        if (t.length > 19) continue;
        const v = viaParse(t);
        if (w === mid) expect(v, t).toBeNaN();
        else if (!Number.isNaN(v)) {
          decidedOffTie++;
          expect(v, t).toBe(Number(t));
        }
      }
    }
    expect(decidedOffTie).toBeGreaterThan(25_000);
  });

  it('takes A from the inexact mantissa exactly where its error is largest: near 10^n, every point position', () => {
    // The mantissa's error grows with the value and the number of rounded steps: the largest n-digit
    // numbers (9…9, 9…95, 99…98x) and the smallest past 2^53, at every position of the point.
    const rnd = lcg(5);
    let checked = 0;
    for (let n = 16; n <= 19; n++) {
      const words = ['9'.repeat(n), `${'9'.repeat(n - 1)}5`, `${'9'.repeat(n - 2)}89`, '9007199254740993'.padEnd(n, '7'), `1${'0'.repeat(n - 2)}1`];
      for (let i = 0; i < 200; i++) words.push(`99${Array.from({ length: n - 2 }, () => String(Math.floor(rnd() * 10))).join('')}`);
      for (const d of words) {
        for (let point = 0; point <= n; point++) {
          const text = point === n ? d : `${d.slice(0, point) || '0'}.${d.slice(point)}`;
          if (sigDigits(text) < 16 || Number(d) < 2 ** 53) continue;
          const v = viaParse(text);
          checked++;
          expect(Number.isNaN(v) ? Number(text) : v, text).toBe(Number(text));
        }
      }
    }
    expect(checked).toBeGreaterThan(15_000);
  });

  it('refuses what it does not cover: > 19 digits, > 22 fraction digits', () => {
    expect(viaParse('12345678901234567890')).toBeNaN();
    expect(viaParse('0.00000000000000000012345678901234567')).toBeNaN();
  });

  it('parses every price field of the real sample as Number() does (through parseBarsCsv)', (ctx) => {
    if (!existsSync(SAMPLE)) {
      process.stdout.write(`skipped: ${SAMPLE} is absent\n`);
      ctx.skip();
      return;
    }
    let fields = 0;
    for (const asset of ['stocks', 'etfs']) {
      for (const name of readdirSync(join(SAMPLE, asset))) {
        const bytes = readFileSync(join(SAMPLE, asset, name));
        const p = parseBarsCsv(bytes);
        // The naive twin: every kept row's prices from Number() on the split text, by date.
        const byDate = new Map<string, number[]>();
        for (const line of bytes
          .toString('latin1')
          .replace(/^\uFEFF/, '')
          .split(/\r?\n/)
          .slice(1)) {
          const f = line.split(',');
          if (f.length === 7 && f[1] !== '') byDate.set(f[0]!, f.slice(1, 6).map(Number));
        }
        for (let r = 0; r < p.rows; r++) {
          const d = new Date(p.day[r]! * 86_400_000).toISOString().slice(0, 10);
          const want = byDate.get(d)!;
          const got = [p.open[r], p.high[r], p.low[r], p.close[r], p.adjClose[r]];
          if (got.some((g, k) => g !== want[k])) expect(got, `${name} ${d}`).toEqual(want);
          fields += 5;
        }
      }
    }
    expect(fields).toBeGreaterThan(800_000);
  });
});
