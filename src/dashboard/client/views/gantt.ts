/** @module dashboard/client/views/gantt
 * A run's tasks on a time axis (SVG; as many ticks as the width keeps apart): one row per task in plan
 * order, a bar from its started_at to its ended_at (now while running), coloured by status, with its
 * attempts; under a task that ran on queue workers, one thin bar per partition or job (its worker and
 * seconds, from the task's start: the store keeps their durations, not their start times). Tasks that
 * never started (queued, skipped, cached without a timing) get a row without a bar. */
import type { TimedTask } from '../api-control.js';
import { dur } from '../dom.js';

const NS = 'http://www.w3.org/2000/svg';
const LABEL = 150;
const ROW = 26;
const SUB = 14;
const AXIS = 24;
const RIGHT = 12;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

const ms = (iso: string | null | undefined): number | null => {
  if (typeof iso !== 'string') return null;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : null;
};

/** A task's [start, end] in ms; the end from ended_at, else start + seconds, else `now` while it runs. */
export function taskSpan(t: TimedTask, now: number): [number, number] | null {
  const start = ms(t.started_at);
  if (start === null) return null;
  const end = ms(t.ended_at) ?? (t.seconds !== null ? start + t.seconds * 1000 : t.status === 'running' || t.status === 'retried' ? now : start);
  return [start, Math.max(start, end)];
}

/** Tick steps in seconds: 1-2-5 below ten seconds, then steps a clock reads easily. */
const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 259200, 604800];
/** A generous width of one character of a tick label (.gantt-tick is 10.5 px), the least room between two labels,
 * and the least distance between two ticks (a grid line every label's width would be a busy one). */
const TICK_CHAR_PX = 6.5;
const TICK_GAP_PX = 8;
const TICK_SPACE_PX = 80;

/** A tick's label: 0, 0.25 s, 20 s, 1 min 20 s, 2 h 30 min (dur's "20.0 s" and "1 min 00 s" are longer than a tick needs). */
export function tickLabel(s: number): string {
  if (s === 0) return '0';
  if (s < 60) return `${Number(s.toPrecision(3))} s`;
  const [big, unit, small, smallUnit] = s < 3600 ? [Math.floor(s / 60), 'min', Math.round(s % 60), 's'] : [Math.floor(s / 3600), 'h', Math.round((s % 3600) / 60), 'min'];
  return `${big} ${unit}${small > 0 ? ` ${small} ${smallUnit}` : ''}`;
}

const tickWidth = (s: number): number => tickLabel(s).length * TICK_CHAR_PX;

/** Ticks 0, step, 2·step… (s) over `spanMs` drawn `plotPx` wide: the smallest step at least TICK_SPACE_PX long
 * whose labels stay TICK_GAP_PX apart, so a narrow screen gets fewer ticks, not labels on top of each other. A
 * label reaching more than `rightPx` past the plot's end is left out. */
export function ticks(spanMs: number, plotPx: number, rightPx = 0): number[] {
  const s = Math.max(spanMs / 1000, 0.001);
  const pxPerS = plotPx / s;
  for (const step of STEPS) {
    if (step * pxPerS < TICK_SPACE_PX) continue; // too close: skipped before listing (maybe many) ticks
    const values = Array.from({ length: Math.floor(s / step + 1e-9) + 1 }, (_, i) => i * step);
    if (step * pxPerS >= Math.max(...values.map(tickWidth)) + TICK_GAP_PX) return values.filter((v) => v * pxPerS + tickWidth(v) / 2 <= plotPx + rightPx);
  }
  return [0];
}

/**
 * Where a bar's label goes (`texts`: the label, then shorter ones): inside the bar when it fits, else
 * after it, else before it (right-aligned) — never over the task names (left of LABEL) or past `width`.
 * The first text that fits somewhere is taken; when none does, the last one goes inside the bar.
 * Widths are estimated at 6.5 px a character (.gantt-label is 11 px), plus 8 px of room.
 */
export function barLabel(texts: readonly string[], bx: number, bw: number, width: number): { text: string; x: number; anchor: 'start' | 'end'; inside: boolean } {
  for (const text of texts) {
    const textW = text.length * 6.5 + 8;
    if (bw > textW) return { text, x: bx + 4, anchor: 'start', inside: true };
    if (bx + bw + textW <= width) return { text, x: bx + bw + 4, anchor: 'start', inside: false };
    if (bx - textW >= LABEL) return { text, x: bx - 4, anchor: 'end', inside: false };
  }
  return { text: texts[texts.length - 1] ?? '', x: bx + 4, anchor: 'start', inside: true };
}

export function drawGantt(tasks: readonly TimedTask[], opts: { runStartedAt: string; runEndedAt: string | null; width: number; now?: number; onSelect?: (task: string) => void }): SVGSVGElement {
  const now = opts.now ?? Date.now();
  const sorted = [...tasks].sort((a, b) => a.position - b.position);
  const spans = new Map(sorted.map((t) => [t.task, taskSpan(t, now)]));
  const starts = [ms(opts.runStartedAt) ?? now, ...[...spans.values()].flatMap((s) => (s ? [s[0]] : []))];
  const t0 = Math.min(...starts);
  const ends = [ms(opts.runEndedAt) ?? (sorted.some((t) => t.status === 'running') ? now : t0), ...[...spans.values()].flatMap((s) => (s ? [s[1]] : []))];
  const t1 = Math.max(t0 + 1, ...ends);
  const width = Math.max(360, opts.width);
  const plot = width - LABEL - RIGHT;
  const x = (t: number): number => LABEL + ((t - t0) / (t1 - t0)) * plot;
  const rows = sorted.map((t) => ({ t, subs: t.workers ?? [] }));
  const height = AXIS + rows.reduce((n, r) => n + ROW + r.subs.length * SUB, 0) + 4;
  const root = svg('svg', { class: 'gantt', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': 'task timeline' });
  for (const v of ticks(t1 - t0, plot, RIGHT)) {
    const px = x(t0 + v * 1000);
    root.append(svg('line', { x1: px, x2: px, y1: AXIS - 4, y2: height, class: 'gantt-grid' }), svg('text', { x: px, y: AXIS - 8, class: 'gantt-tick', 'text-anchor': 'middle' }, tickLabel(v)));
  }
  let y = AXIS;
  for (const { t, subs } of rows) {
    const span = spans.get(t.task) ?? null;
    const g = svg('g', { class: `gantt-row s-${t.status}`, 'data-task': t.task, transform: `translate(0 ${y})`, ...(opts.onSelect ? { tabindex: 0, role: 'button', 'aria-label': `${t.task}: ${t.status}` } : {}) });
    const extra = t.attempts > 1 ? ` ↻${t.attempts}` : '';
    g.append(svg('title', {}, `${t.task}: ${t.status}${t.attempts > 1 ? ` after ${t.attempts} attempts` : ''} · ${dur(t.seconds)}${t.started_at ? ` · from ${t.started_at}` : ''}${t.ended_at ? ` to ${t.ended_at}` : ''}`));
    // The whole row takes the click, not only its painted text and bar.
    g.append(svg('rect', { x: 0, y: 0, width, height: ROW + subs.length * SUB, class: 'gantt-hit' }));
    g.append(svg('text', { x: 4, y: ROW / 2 + 4, class: 'gantt-name' }, `${t.task}${extra}`));
    if (span) {
      const bx = x(span[0]);
      const bw = Math.max(2, x(span[1]) - bx);
      g.append(svg('rect', { x: bx, y: 4, width: bw, height: ROW - 8, rx: 3, class: 'gantt-bar' }));
      const full = `${t.status}${t.status === 'cached' ? '' : ` · ${dur(t.seconds ?? (span[1] - span[0]) / 1000)}`}`;
      const at = barLabel([full, t.status], bx, bw, width);
      g.append(svg('text', { x: at.x, y: ROW / 2 + 4, class: `gantt-label${at.inside ? ' in' : ''}`, ...(at.anchor === 'end' ? { 'text-anchor': 'end' } : {}) }, at.text));
    } else {
      g.append(svg('text', { x: LABEL + 4, y: ROW / 2 + 4, class: 'gantt-label' }, t.status));
    }
    subs.forEach((w, i) => {
      const sy = ROW + i * SUB;
      const start = span?.[0] ?? t0;
      g.append(svg('text', { x: 14, y: sy + SUB - 3, class: 'gantt-sub' }, `${w.partition ?? 'job'} · ${w.worker}`));
      g.append(svg('rect', { x: x(start), y: sy + 2, width: Math.max(2, x(start + w.seconds * 1000) - x(start)), height: SUB - 5, rx: 2, class: 'gantt-subbar' }));
    });
    if (opts.onSelect) {
      const select = opts.onSelect;
      g.addEventListener('click', () => select(t.task));
      g.addEventListener('keydown', (e) => {
        const k = (e as KeyboardEvent).key;
        if (k === 'Enter' || k === ' ') {
          e.preventDefault();
          select(t.task);
        }
      });
    }
    root.append(g);
    y += ROW + subs.length * SUB;
  }
  return root;
}
