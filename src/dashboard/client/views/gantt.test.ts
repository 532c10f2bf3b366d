/** The timeline's time axis (gantt ticks): as many ticks as the width holds, never two labels on top of each other. */
import { describe, expect, it } from 'vitest';
import { barLabel, tickLabel, ticks } from './gantt.js';

/** Each label's [left, right] in px, centred on its tick, as drawGantt places it (the width estimate is gantt's own: 6.5 px a character). */
const boxes = (values: number[], spanS: number, plotPx: number): [number, number][] => values.map((v) => {
  const at = (v / spanS) * plotPx;
  const half = (tickLabel(v).length * 6.5) / 2;
  return [at - half, at + half];
});

describe('timeline ticks', () => {
  it('labels a tick shortly', () => {
    expect([0, 0.25, 0.30000000000000004, 20, 60, 80, 3600, 5400, 90_000].map(tickLabel)).toEqual(['0', '0.25 s', '0.3 s', '20 s', '1 min', '1 min 20 s', '1 h', '1 h 30 min', '25 h']);
  });

  it('keeps labels apart at a phone\'s width and a desktop\'s, for runs of a millisecond to ten days', () => {
    // 198 px: the plot of a 375 px screen (the 360 px minimum less the task names); 1,100 px: a 1440 px screen's.
    for (const plotPx of [198, 420, 1100]) {
      for (let spanS = 0.001; spanS < 864_000; spanS *= 1.37) {
        const values = ticks(spanS * 1000, plotPx, 12);
        expect(values[0], `${spanS} s on ${plotPx} px`).toBe(0);
        const b = boxes(values, spanS, plotPx);
        for (let i = 1; i < b.length; i++) expect(b[i]![0] - b[i - 1]![1], `${tickLabel(values[i - 1]!)} · ${tickLabel(values[i]!)} (${spanS} s on ${plotPx} px)`).toBeGreaterThanOrEqual(8);
        expect(b.at(-1)![1], `${spanS} s on ${plotPx} px`).toBeLessThanOrEqual(plotPx + 12);
        // evenly spaced, and more than one tick whenever a second label fits
        const step = values[1] ?? 0;
        values.forEach((v, i) => expect(v).toBeCloseTo(i * step, 9));
        if (spanS >= 1) expect(values.length, `${spanS} s on ${plotPx} px`).toBeGreaterThan(1);
      }
    }
  });

  it('gives a wider plot more ticks', () => {
    for (const spanS of [12, 95, 9_000]) expect(ticks(spanS * 1000, 1100).length).toBeGreaterThan(ticks(spanS * 1000, 198).length);
  });
});

describe('a bar\'s label', () => {
  const full = 'succeeded · 1 min 20 s';
  // [left, right] in px of the placed label, by the same width estimate.
  const box = (p: ReturnType<typeof barLabel>): [number, number] => {
    const w = p.text.length * 6.5;
    return p.anchor === 'start' ? [p.x, p.x + w] : [p.x - w, p.x];
  };
  it('goes inside a wide bar, after a short one, before one that ends at the right edge', () => {
    expect(barLabel([full, 'succeeded'], 160, 190, 360)).toMatchObject({ text: full, x: 164, inside: true });
    expect(barLabel([full, 'succeeded'], 160, 20, 360)).toMatchObject({ text: full, x: 184, anchor: 'start', inside: false });
    expect(barLabel([full, 'succeeded'], 320, 28, 1000)).toMatchObject({ text: full, anchor: 'start' });
    expect(barLabel([full, 'succeeded'], 330, 18, 360)).toMatchObject({ text: full, x: 326, anchor: 'end', inside: false });
  });

  it('at a phone\'s width never reaches over the task names or past the edge: the status alone, or inside the bar', () => {
    // The 375 px timeline: 360 px of SVG, task names in the first 150 px, the plot to 348 px.
    for (let bx = 150; bx < 348; bx += 3) {
      for (let bw = 2; bx + bw <= 348; bw += 5) {
        const p = barLabel([full, 'succeeded'], bx, bw, 360);
        const [l, r] = box(p);
        if (!p.inside) expect([bx, bw, l >= 150 && r <= 360]).toEqual([bx, bw, true]);
        else expect([bx, bw, l >= bx && (r <= bx + bw || p.text === 'succeeded')]).toEqual([bx, bw, true]);
      }
    }
    // The case seen: a bar from the middle of the plot, too short for the label, with no room after it.
    expect(barLabel([full, 'succeeded'], 250, 60, 360)).toMatchObject({ text: 'succeeded', anchor: 'end', x: 246 });
  });
});
