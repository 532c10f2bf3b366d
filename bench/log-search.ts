/** @module bench/log-search
 * `npx tsx bench/log-search.ts [lines]`: the dashboard's task-log search (dashboard/routes-logs
 * searchLog: line by line, stops at the limit) on a generated log of runner-like lines, next to the
 * naive baseline (read the whole file, split, filter). Two cases: a needle on 1 line in 10,000 (the
 * whole file read, the limit not reached) and a common one (limit 200: the search stops early).
 * Fixed iterations, A/B alternated, minimum taken; prints the load average before and after. */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { searchLog } from '../src/dashboard/routes-logs.js';

const LINES = Number(process.argv[2] ?? 1_000_000);
const RUNS = 5;
const LIMIT = 200;

async function naive(file: string, q: string, limit: number): Promise<number> {
  const needle = q.toLowerCase();
  const hits = (await readFile(file, 'utf8')).split('\n').filter((l) => l.toLowerCase().includes(needle));
  return Math.min(hits.length, limit);
}

async function time(fn: () => Promise<number>): Promise<{ ms: number; n: number }> {
  const t = performance.now();
  const n = await fn();
  return { ms: performance.now() - t, n };
}

const dir = await mkdtemp(join(tmpdir(), 'sp-logbench-'));
try {
  const file = join(dir, 'task.log');
  const lines: string[] = [];
  for (let i = 0; i < LINES; i++) {
    lines.push(i % 10_000 === 7
      ? `2026-12-03T10:19:${String(i % 60).padStart(2, '0')}.182Z [runner] attempt 2/3 failed: SP_ERR_TASK_TIMEOUT after 600 s`
      : `{"level":30,"time":${1_764_757_000_000 + i},"pid":4242,"module":"features","bucket":${i % 16},"rows":${(i * 7919) % 100_000},"msg":"wrote partition file"}`);
  }
  await writeFile(file, `${lines.join('\n')}\n`);
  const bytes = (await stat(file)).size;
  const load0 = loadavg();
  const cases = { rare: 'sp_err_task_timeout', common: 'partition' } as const;
  const result: Record<string, unknown> = { lines: LINES, mib: +(bytes / 2 ** 20).toFixed(1), runs: RUNS, limit: LIMIT, load_before: load0.map((x) => +x.toFixed(2)) };
  for (const [name, q] of Object.entries(cases)) {
    const a: number[] = [];
    const b: number[] = [];
    let matches = 0;
    for (let r = 0; r < RUNS; r++) {
      const s = await time(async () => (await searchLog(file, q, LIMIT)).matches.length);
      const n = await time(() => naive(file, q, LIMIT));
      if (s.n !== n.n) throw new Error(`${name}: searchLog found ${s.n}, the baseline ${n.n}`);
      matches = s.n;
      a.push(s.ms);
      b.push(n.ms);
    }
    result[name] = { q, matches, search_ms_min: +Math.min(...a).toFixed(1), naive_ms_min: +Math.min(...b).toFixed(1) };
  }
  result.load_after = loadavg().map((x) => +x.toFixed(2));
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
