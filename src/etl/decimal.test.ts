import { describe, expect, it } from 'vitest';
import { divPow10 } from './decimal.js';

/** Parses a plain decimal through divPow10 the way csv-parse does (NaN = undecided). */
function viaDiv(text: string): number {
  const [int, frac = ''] = text.split('.');
  const digits = (int! + frac).replace(/^0+/, '');
  const h = Number(digits.slice(0, 15) || '0');
  const rest = digits.slice(15);
  return divPow10(h, rest.length, Number(rest || '0'), 10 ** rest.length, 10 ** frac.length);
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('divPow10 (correctly rounded 16–19 digit decimals)', () => {
  it('equals Number() on float32-style values printed with 16–17 digits', () => {
    const rnd = lcg(7);
    let undecided = 0;
    for (let i = 0; i < 200_000; i++) {
      const x = Math.fround(rnd() * 10 ** (Math.floor(rnd() * 8) - 3));
      const text = String(x);
      if (text.includes('e') || text.replace('.', '').replace(/^0+/, '').length <= 15) continue;
      const v = viaDiv(text);
      if (Number.isNaN(v)) undecided++;
      else expect(v).toBe(Number(text));
    }
    expect(undecided).toBe(0);
  });

  it('equals Number() on random 16–19 digit decimals at every decimal point position', () => {
    const rnd = lcg(11);
    for (let i = 0; i < 200_000; i++) {
      const n = 16 + Math.floor(rnd() * 4);
      let d = String(1 + Math.floor(rnd() * 9));
      while (d.length < n) d += String(Math.floor(rnd() * 10));
      const point = Math.floor(rnd() * (n + 1));
      const text = point === n ? d : `${d.slice(0, point) || '0'}.${d.slice(point)}`;
      const v = viaDiv(text);
      if (!Number.isNaN(v)) expect(v, text).toBe(Number(text));
    }
  });

  it('rounds exact ties to even and never decides a near-tie wrongly', () => {
    // Exact ties are left undecided (NaN): the caller then uses Number(), which rounds to even.
    for (const t of ['9007199254740993', '9007199254740995', '9007199254740993.0']) expect(viaDiv(t)).toBeNaN();
    expect(viaDiv('9007199254740994')).toBe(9007199254740994);
    expect(viaDiv('90071992547409.98')).toBe(Number('90071992547409.98'));
    for (const t of ['18014398509481985', '18014398509481987', '1801439850948198.5', '0.1000000000000000055511151231257827']) {
      const v = viaDiv(t.slice(0, 20));
      if (!Number.isNaN(v)) expect(v, t).toBe(Number(t.slice(0, 20)));
    }
  });
});
