/** Partitioned validate (docs/scale-out.md), as the bullmq executor drives it, through the CLI without
 * Redis: planValidatePartitions → `validate --plan … --buckets … --stage DIR` per partition → `validate
 * --commit-stage COMMIT.json`. On a copy of the same workspace, the --json document and
 * validation/latest.json equal a plain `validate`'s (after masking the workspace path, times and the
 * report's stamp), with anomalies from the new rows, the symbols and the calendar; a first check (no
 * reference) is not partitioned; partitions that do not cover the plan commit nothing. */
import { appendFile, cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { planValidatePartitions, type ValidatePlan } from '../src/validate/partitions.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const HEADER = 'Date,Open,High,Low,Close,Adj Close,Volume\n';
/** Trading days from 2021-01-04, weekends skipped (holidays are the calendar check's business). */
const days = ((): string[] => {
  const out: string[] = [];
  for (let t = Date.UTC(2021, 0, 4); out.length < 400; t += 86_400_000) {
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(new Date(t).toISOString().slice(0, 10));
  }
  return out;
})();
const line = (k: number, i: number, date = days[i]!): string => {
  const p = 30 + k + ((i * 7919 + k * 104_729) % 997) / 53;
  return `${date},${p},${p + 1},${p - 1},${p + 0.25},${(p * 0.97).toPrecision(15)},${3000 + ((i * 41 + k * 13) % 9000)}\n`;
};
const ok = (args: string[]): Record<string, any> => {
  const res = runCli(['--json', ...args]);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return res.json.data as Record<string, any>;
};

/** Every string with the workspace's path taken out; times, the stamp and seconds zeroed. */
function masked(doc: unknown, ws: string): unknown {
  return JSON.parse(JSON.stringify(doc, (k, v: unknown) => {
    if (k === 'seconds' || k === 'created_at' || k === 'phases') return 0;
    if (k === 'report' && typeof v === 'string') return 'REPORT';
    return typeof v === 'string' ? v.split(ws).join('WS') : v;
  }));
}

async function plan(ws: string): Promise<ValidatePlan | null> {
  return planValidatePartitions(new Workspace(ws), 'prices');
}

describe('partitioned validate', () => {
  it('an incremental check: the --json document and latest.json equal a plain validate; a first check is not partitioned', async () => {
    const root = await tempDir('vpart');
    const stocks = join(root, 'src', 'stocks');
    await mkdir(stocks, { recursive: true });
    for (let k = 0; k < 24; k++) {
      let text = HEADER;
      // A late listing, a gap, a short history: symbol and calendar anomalies.
      const from = k === 6 ? 200 : 0;
      for (let i = from; i < (k === 9 ? 20 : 300); i++) if (!(k === 4 && i > 100 && i < 130)) text += line(k, i);
      await writeFile(join(stocks, `S${k}.csv`), text);
    }
    const a = join(root, 'a');
    ok(['fetch', '--source', `dir:${join(root, 'src')}`, '-w', a]);
    ok(['ingest', '-w', a]);
    expect(await plan(a)).toBeNull(); // no reference yet: one job
    ok(['validate', '-w', a, '--fail-on', 'never']);
    expect(await plan(a)).toBeNull(); // nothing new since the last report
    // New days, a zero volume, a weekend row, a negative adjusted close.
    for (let k = 0; k < 24; k++) if (k !== 9) await appendFile(join(stocks, `S${k}.csv`), line(k, 300) + line(k, 301));
    await appendFile(join(stocks, 'S2.csv'), `${days[302]},10,11,9,10.5,-1,0\n`);
    await appendFile(join(stocks, 'S5.csv'), '2022-06-04,10,11,9,10.5,10,500\n');
    ok(['fetch', '-w', a]);
    ok(['ingest', '-w', a]);
    const b = join(root, 'b');
    await cp(a, b, { recursive: true });

    const local = ok(['validate', '-w', a, '--fail-on', 'never']);
    expect(local.mode).toBe('incremental');
    expect(local.anomalies.length).toBeGreaterThan(3);

    const p = (await plan(b))!;
    expect(p).toMatchObject({ table: 'prices', snapshot: local.snapshot, since: local.since_snapshot });
    const dir = join(root, 'stage');
    await mkdir(dir);
    await writeFile(join(dir, 'plan.json'), JSON.stringify(p));
    const groups = [0, 1, 2].map((g) => p.buckets.filter((_, i) => i % 3 === g)).filter((g) => g.length > 0);
    const stages = groups.map((g, i) => ok(['validate', '-w', b, '--plan', join(dir, 'plan.json'), '--buckets', g.join(','), '--stage', join(dir, `p${i}`)]).stage as string);
    await writeFile(join(dir, 'commit.json'), JSON.stringify({ version: 1, commit_key: 'run-1', plan: p, stages: stages.slice(1) }));
    const miss = runCli(['--json', 'validate', '-w', b, '--fail-on', 'never', '--commit-stage', join(dir, 'commit.json')]);
    expect(miss.json.error?.code).toBe('SP_ERR_PARTITION_STAGE');
    await writeFile(join(dir, 'commit.json'), JSON.stringify({ version: 1, commit_key: 'run-1', plan: p, stages }));
    const part = ok(['validate', '-w', b, '--fail-on', 'never', '--commit-stage', join(dir, 'commit.json')]);
    expect(masked(part, b)).toEqual(masked(local, a));
    const latest = async (ws: string): Promise<unknown> => masked(JSON.parse(await readFile(join(ws, 'validation', 'latest.json'), 'utf8')), ws);
    expect(await latest(b)).toEqual(await latest(a));
    // One report more on each side, nothing else.
    expect((await readdir(join(b, 'validation'))).length).toBe((await readdir(join(a, 'validation'))).length);
  }, 180_000);
});
