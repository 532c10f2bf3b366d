/** @module dashboard/client/views/dag
 * Draws a pipeline's task graph as SVG boxes in topological columns (levels = longest path from a
 * root) with edges, left to right, or top to bottom when the space is narrow. The edges come
 * from the caller (the run's params.edges, or a chain in plan order). */
import type { TaskRun } from '../api.js';
import { dur } from '../dom.js';

const NS = 'http://www.w3.org/2000/svg';
const W = 140;
const H = 46;
const GAP_MAIN = 28;
const GAP_CROSS = 14;

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The run's edges: params.edges as JSON [[from, to], …] naming known tasks, else a chain in plan order. */
export function runEdges(tasks: readonly TaskRun[], params: Record<string, string | null>): [string, string][] {
  const names = new Set(tasks.map((t) => t.task));
  try {
    const raw = params.edges ? (JSON.parse(params.edges) as unknown) : null;
    if (Array.isArray(raw) && raw.every((e) => Array.isArray(e) && e.length === 2 && names.has(String(e[0])) && names.has(String(e[1])))) {
      return raw.map((e) => [String((e as unknown[])[0]), String((e as unknown[])[1])]);
    }
  } catch {
    // fall through to the chain
  }
  const sorted = [...tasks].sort((a, b) => a.position - b.position);
  return sorted.slice(1).map((t, i) => [sorted[i]!.task, t.task]);
}

/** Longest-path level of each task (tasks in plan order are a topological order). */
function levels(tasks: readonly TaskRun[], edges: readonly [string, string][]): Map<string, number> {
  const lv = new Map(tasks.map((t) => [t.task, 0]));
  const sorted = [...tasks].sort((a, b) => a.position - b.position);
  for (let pass = 0; pass < sorted.length; pass++) {
    let changed = false;
    for (const [a, b] of edges) {
      const want = (lv.get(a) ?? 0) + 1;
      if (want > (lv.get(b) ?? 0) && want < sorted.length) {
        lv.set(b, want);
        changed = true;
      }
    }
    if (!changed) break;
  }
  return lv;
}

export function drawDag(tasks: readonly TaskRun[], edges: readonly [string, string][], opts: { width: number; selected?: string; onSelect?: (task: string) => void }): SVGSVGElement {
  const lv = levels(tasks, edges);
  const cols: TaskRun[][] = [];
  for (const t of [...tasks].sort((a, b) => a.position - b.position)) (cols[lv.get(t.task) ?? 0] ??= []).push(t);
  const depth = cols.length;
  const breadth = Math.max(1, ...cols.map((c) => c?.length ?? 0));
  const horizontal = depth * (W + GAP_MAIN) - GAP_MAIN <= opts.width;
  const pos = new Map<string, { x: number; y: number }>();
  cols.forEach((col, i) => col?.forEach((t, j) => {
    const offset = (breadth - col.length) / 2 + j;
    pos.set(t.task, horizontal ? { x: i * (W + GAP_MAIN), y: offset * (H + GAP_CROSS) } : { x: offset * (W + GAP_CROSS), y: i * (H + GAP_MAIN) });
  }));
  const width = horizontal ? depth * (W + GAP_MAIN) - GAP_MAIN : breadth * (W + GAP_CROSS) - GAP_CROSS;
  const height = horizontal ? breadth * (H + GAP_CROSS) - GAP_CROSS : depth * (H + GAP_MAIN) - GAP_MAIN;
  const root = svg('svg', { class: 'dag', viewBox: `-2 -2 ${width + 4} ${height + 4}`, width: width + 4, height: height + 4, role: 'img', 'aria-label': 'task graph' });
  const defs = svg('defs', {});
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'dag-arrow' }));
  defs.append(marker);
  root.append(defs);
  for (const [a, b] of edges) {
    const p = pos.get(a);
    const q = pos.get(b);
    if (!p || !q) continue;
    const d = horizontal
      ? `M ${p.x + W} ${p.y + H / 2} C ${p.x + W + GAP_MAIN / 2} ${p.y + H / 2}, ${q.x - GAP_MAIN / 2} ${q.y + H / 2}, ${q.x} ${q.y + H / 2}`
      : `M ${p.x + W / 2} ${p.y + H} C ${p.x + W / 2} ${p.y + H + GAP_MAIN / 2}, ${q.x + W / 2} ${q.y - GAP_MAIN / 2}, ${q.x + W / 2} ${q.y}`;
    root.append(svg('path', { d, class: 'dag-edge', 'marker-end': 'url(#arrow)', 'data-edge': `${a}->${b}` }));
  }
  for (const t of tasks) {
    const p = pos.get(t.task)!;
    const g = svg('g', { class: `dag-node s-${t.status}${opts.selected === t.task ? ' selected' : ''}`, transform: `translate(${p.x} ${p.y})`, tabindex: 0, role: 'button', 'data-task': t.task });
    const title = svg('title', {}, `${t.task}: ${t.status}${t.attempts > 1 ? ` after ${t.attempts} attempts` : ''}${t.error ? ` — ${t.error}` : ''}`);
    const extra = t.status === 'cached' ? ' ⟲' : t.attempts > 1 ? ` ↻${t.attempts}` : '';
    g.append(title, svg('rect', { width: W, height: H, rx: 6 }), svg('text', { x: 10, y: 19, class: 'dag-name' }, t.task),
      svg('text', { x: 10, y: 36, class: 'dag-meta' }, `${t.status}${extra} · ${dur(t.seconds)}`));
    if (opts.onSelect) {
      const select = opts.onSelect;
      g.addEventListener('click', () => select(t.task));
      // A button takes Enter and Space (Space would scroll the page).
      g.addEventListener('keydown', (e) => {
        const k = (e as KeyboardEvent).key;
        if (k === 'Enter' || k === ' ') {
          e.preventDefault();
          select(t.task);
        }
      });
    }
    root.append(g);
  }
  return root;
}
