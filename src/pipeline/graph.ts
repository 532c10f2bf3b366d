/** @module pipeline/graph
 * The task graph: validation (unknown deps, duplicate names), topological order (Kahn, stable:
 * declaration order among ready tasks) with cycle detection, and --from/--to slices. Pure. */
import { StockpipeError } from '../core/errors.js';
import type { TaskSpec } from './types.js';

/** The tasks in an order where every task comes after its upstream tasks. */
export function topoOrder(tasks: readonly TaskSpec[]): TaskSpec[] {
  const byName = new Map<string, TaskSpec>();
  for (const t of tasks) {
    if (byName.has(t.name)) throw new StockpipeError('SP_ERR_PIPELINE_INVALID', `task '${t.name}' is defined twice`, { hint: 'Give every task of a pipeline its own name.' });
    byName.set(t.name, t);
  }
  const indegree = new Map<string, number>();
  const down = new Map<string, string[]>();
  for (const t of tasks) {
    indegree.set(t.name, t.deps?.length ?? 0);
    for (const d of t.deps ?? []) {
      if (!byName.has(d)) throw new StockpipeError('SP_ERR_PIPELINE_INVALID', `task '${t.name}' depends on unknown task '${d}'`, { hint: `Known tasks: ${[...byName.keys()].join(', ')}.` });
      down.set(d, [...(down.get(d) ?? []), t.name]);
    }
  }
  const order: TaskSpec[] = [];
  const pos = new Map(tasks.map((t, i) => [t.name, i]));
  // Ready tasks as declaration positions, kept sorted (binary insertion): O(n log n) overall.
  const ready = tasks.flatMap((t, i) => (indegree.get(t.name) === 0 ? [i] : []));
  let head = 0;
  while (head < ready.length) {
    const t = tasks[ready[head++]!]!;
    order.push(t);
    for (const n of down.get(t.name) ?? []) {
      const k = indegree.get(n)! - 1;
      indegree.set(n, k);
      if (k !== 0) continue;
      const p = pos.get(n)!;
      let lo = head;
      let hi = ready.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (ready[mid]! < p) lo = mid + 1;
        else hi = mid;
      }
      ready.splice(lo, 0, p);
    }
  }
  if (order.length < tasks.length) {
    const cycle = findCycle(tasks, byName);
    throw new StockpipeError('SP_ERR_PIPELINE_CYCLE', `the task graph has a cycle: ${cycle.join(' → ')}`, { hint: 'Remove one of the dependencies on that cycle.' });
  }
  return order;
}

/** One cycle, as a closed path of task names (for the error message). */
function findCycle(tasks: readonly TaskSpec[], byName: Map<string, TaskSpec>): string[] {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | null => {
    state.set(name, 'open');
    stack.push(name);
    for (const d of byName.get(name)?.deps ?? []) {
      if (state.get(d) === 'open') return [...stack.slice(stack.indexOf(d)), d];
      if (state.get(d) === undefined) {
        const c = visit(d);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(name, 'done');
    return null;
  };
  for (const t of tasks) {
    if (state.get(t.name) === undefined) {
      const c = visit(t.name);
      if (c) return c.reverse();
    }
  }
  return [];
}

/** Every task upstream of `name` (transitively), not including it. */
export function ancestors(tasks: readonly TaskSpec[], name: string): Set<string> {
  const byName = new Map(tasks.map((t) => [t.name, t]));
  const out = new Set<string>();
  const walk = (n: string): void => {
    for (const d of byName.get(n)?.deps ?? []) {
      if (!out.has(d)) {
        out.add(d);
        walk(d);
      }
    }
  };
  walk(name);
  return out;
}

/** Every task downstream of `name` (transitively), not including it. */
export function descendants(tasks: readonly TaskSpec[], name: string): Set<string> {
  const out = new Set<string>();
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of tasks) {
      if (out.has(t.name)) continue;
      if ((t.deps ?? []).some((d) => d === name || out.has(d))) {
        out.add(t.name);
        grew = true;
      }
    }
  }
  return out;
}

function assertTask(tasks: readonly TaskSpec[], name: string, flag: string): void {
  if (!tasks.some((t) => t.name === name)) {
    throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `${flag} ${name}: no such task`, { hint: `Tasks: ${tasks.map((t) => t.name).join(', ')}.` });
  }
}

/**
 * The names selected by --from/--to: `from` and everything downstream of it, intersected with
 * `to` and everything upstream of it. Tasks outside the slice are not run; their last results
 * (from the store) feed the slice.
 */
export function sliceNames(tasks: readonly TaskSpec[], opts: { from?: string; to?: string; forceTasks?: readonly string[] }): Set<string> {
  for (const t of opts.forceTasks ?? []) assertTask(tasks, t, '--force-task');
  let names = new Set(tasks.map((t) => t.name));
  if (opts.from !== undefined) {
    assertTask(tasks, opts.from, '--from');
    const keep = descendants(tasks, opts.from).add(opts.from);
    names = new Set([...names].filter((n) => keep.has(n)));
  }
  if (opts.to !== undefined) {
    assertTask(tasks, opts.to, '--to');
    const keep = ancestors(tasks, opts.to).add(opts.to);
    names = new Set([...names].filter((n) => keep.has(n)));
  }
  if (names.size === 0) {
    throw new StockpipeError('SP_ERR_USAGE', `--from ${opts.from} --to ${opts.to} selects no task: ${opts.to} is not downstream of ${opts.from}`, { hint: `Tasks in order: ${tasks.map((t) => t.name).join(', ')}; give --from before --to.` });
  }
  return names;
}

/** The edges as [from, to] pairs (stored with a run so the dashboard draws the real graph). */
export function edges(tasks: readonly TaskSpec[]): [string, string][] {
  return tasks.flatMap((t) => (t.deps ?? []).map((d): [string, string] => [d, t.name]));
}
