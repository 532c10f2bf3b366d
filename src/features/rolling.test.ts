import { describe, expect, it } from 'vitest';
import { rollingFeatures, RollingWindow } from './rolling.js';

/** The naive twin: pandas semantics written the obvious way (slice, sum, sort). */
function naive(values: number[], w: number): { mean: number[]; median: number[] } {
  const mean: number[] = [];
  const median: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i + 1 < w) {
      mean.push(NaN);
      median.push(NaN);
      continue;
    }
    const win = values.slice(i + 1 - w, i + 1);
    mean.push(win.reduce((s, x) => s + x, 0) / w);
    const s = [...win].sort((a, b) => a - b);
    median.push(w % 2 === 1 ? s[(w - 1) / 2]! : (s[w / 2]! + s[w / 2 - 1]!) / 2);
  }
  return { mean, median };
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

describe('rolling kernels', () => {
  it('give NaN for every row of a series shorter than the window', () => {
    const r = rollingFeatures([1, 2, 3], [1, 2, 3], 30);
    expect(Array.from(r.mean).every(Number.isNaN)).toBe(true);
    expect(Array.from(r.median).every(Number.isNaN)).toBe(true);
  });

  it('give exactly one value for a series of exactly the window', () => {
    const v = Array.from({ length: 30 }, (_, i) => i + 1);
    const r = rollingFeatures(v, v, 30);
    expect(r.mean.filter((x) => !Number.isNaN(x)).length).toBe(1);
    expect(r.mean[29]).toBe(15.5);
    expect(r.median[29]).toBe(15.5); // even window: mean of the two middle values (15 and 16)
  });

  it('use the middle value for an odd window', () => {
    const r = rollingFeatures([5, 1, 4, 2, 3], [5, 1, 4, 2, 3], 5);
    expect(r.median[4]).toBe(3);
  });

  it('handle ties and negative values', () => {
    const v = [2, 2, 2, -1, -1, 2, 2, 7, 7, 7];
    const r = rollingFeatures(v, v, 4);
    const n = naive(v, 4);
    expect(Array.from(r.median)).toEqual(n.median);
  });

  it('equal the naive twin bit for bit over many seeds and windows', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = lcg(seed);
      const len = Math.floor(rnd() * 400);
      const w = 2 + Math.floor(rnd() * 40);
      const vol = Array.from({ length: len }, () => Math.floor(rnd() ** 3 * 1e9));
      // Many ties: prices on a coarse grid.
      const adj = Array.from({ length: len }, () => Math.round((rnd() - 0.2) * 50) / 4);
      const r = rollingFeatures(vol, adj, w);
      const n1 = naive(vol, w);
      const n2 = naive(adj, w);
      expect(Array.from(r.mean)).toEqual(n1.mean);
      expect(Array.from(r.median)).toEqual(n2.median);
    }
  });

  it('give a median of signed zeros that depends on the window alone: -0.0 sorts before 0.0, whatever came first', () => {
    // An incremental build restarts a series from the window's rows before the change; the full
    // build has seen the whole history. Both must give the same bits (pandas reads "-0.0" as -0.0).
    const show = (x: number | undefined): string => (Object.is(x, -0) ? '-0' : String(x));
    const total = (a: number, b: number): number => (a !== b ? a - b : a === 0 ? (Object.is(a, -0) ? 0 : 1) - (Object.is(b, -0) ? 0 : 1) : 0);
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = lcg(seed);
      const w = 2 + Math.floor(rnd() * 8);
      const adj = Array.from({ length: 60 }, () => [0, -0, 0, -0, 1, -1][Math.floor(rnd() * 6)]!);
      const r = rollingFeatures(adj, adj, w);
      for (let i = w - 1; i < adj.length; i++) {
        const win = adj.slice(i + 1 - w, i + 1).sort(total);
        const want = w % 2 === 1 ? win[(w - 1) / 2]! : (win[w / 2]! + win[w / 2 - 1]!) / 2;
        const restart = rollingFeatures(adj.slice(i + 1 - w, i + 1), adj.slice(i + 1 - w, i + 1), w).median[w - 1]!;
        expect(Object.is(r.median[i], want), `seed ${seed}, w ${w}, row ${i}: ${show(r.median[i])} vs ${show(want)}`).toBe(true);
        expect(Object.is(restart, want), `seed ${seed}, w ${w}, row ${i} restarted: ${show(restart)} vs ${show(want)}`).toBe(true);
      }
    }
  });

  it('restart cleanly after reset (a new symbol)', () => {
    const win = new RollingWindow(3);
    for (const x of [100, 200, 300]) win.push(x);
    expect(win.median()).toBe(200);
    win.reset();
    expect(win.full).toBe(false);
    for (const x of [1, 2, 3]) win.push(x);
    expect(win.median()).toBe(2);
    expect(win.mean()).toBe(2);
  });

  it('take the mean of whole numbers from a running sum equal, bit for bit, to the direct sum: volumes, huge ones near 2^53 / w, fractions and -0.0 mixed in, across reset', () => {
    const r = lcg(11);
    for (const w of [2, 3, 30, 31, 1000]) {
      const bound = Math.floor(Number.MAX_SAFE_INTEGER / (w + 1));
      // Runs of volumes, then runs where the window holds a value it cannot sum exactly (a fraction,
      // a whole number past the bound, 2^53 itself), then volumes again: the running sum must come back exact.
      const values: number[] = [];
      for (let k = 0; k < 6 * w + 50; k++) {
        const phase = Math.floor(k / (w + 7)) % 4;
        const x = r();
        values.push(phase === 0 ? Math.floor(x * 1e9) : phase === 1 ? (x < 0.3 ? bound : x < 0.6 ? bound + 1 : Math.floor(x * 1e6) + 0.5) : phase === 2 ? (x < 0.1 ? -0 : x < 0.2 ? 2 ** 53 : Math.floor(x * bound)) : Math.floor(x * 3e14));
      }
      const win = new RollingWindow(w, false);
      for (const restart of [false, true]) {
        if (restart) win.reset();
        values.forEach((x, i) => {
          win.push(x);
          if (i + 1 < w) return;
          let direct = 0;
          for (let k = i + 1 - w; k <= i; k++) direct += values[k]!;
          expect(Object.is(win.mean(), direct / w), `w=${w} i=${i}`).toBe(true);
        });
      }
    }
  });
});
