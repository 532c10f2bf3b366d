/** Partitioned forecasts (docs/scale-out.md), as the bullmq executor drives them, through the CLI
 * without Redis: planForecastPartitions → `forecast --plan … --buckets … --stage DIR` per partition →
 * `forecast --commit-stage COMMIT.json`. On a copy of the same workspace, the --json document and the
 * forecasts written equal a plain `forecast`'s (but for the run id and times); a replayed commit writes
 * nothing; partitions that do not cover the plan write nothing. */
import { cp, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Workspace } from '../src/core/workspace.js';
import { planForecastPartitions } from '../src/ml/forecast-partitions.js';
import { openRegistry } from '../src/registry/store.js';
import { runCli } from './helpers/cli.js';
import { tempDir } from './helpers/temp.js';

const ok = (ws: string, args: string[]): Record<string, any> => {
  const res = runCli([...args, '-w', ws, '--json']);
  expect(res.code, res.stdout + res.stderr).toBe(0);
  return res.json.data as Record<string, any>;
};

/** The forecasts table without the run and the time they were written at; and the forecast runs that wrote
 * forecasts (every `forecast` command records a run, the partitions' and a failed commit's included). */
function stored(ws: string): { rows: unknown[]; runs: number } {
  const reg = openRegistry(new Workspace(ws), { readonly: true });
  try {
    return {
      rows: reg.all('read', 'SELECT model_id, symbol, asof_date, target_date, adj_close, volume, last_adj_close, last_volume FROM forecasts ORDER BY model_id, symbol, target_date'),
      runs: reg.get<{ n: number }>('count', "SELECT count(*) AS n FROM runs WHERE kind = 'forecast' AND run_id IN (SELECT run_id FROM forecasts)")!.n,
    };
  } finally {
    reg.close();
  }
}

describe('partitioned forecast', () => {
  it('partitions + commit write what a plain forecast writes; a replay writes nothing; a missing bucket writes nothing', async () => {
    const root = await tempDir('fcpart');
    const a = join(root, 'a');
    for (const step of [['fetch', '--symbols', '30', '--years', '2'], ['ingest'], ['features', '--extended'], ['train', '--task', 'forecast', '--trees', '20', '--promote-if-better']]) ok(a, step);
    const b = join(root, 'b');
    await cp(a, b, { recursive: true });
    const local = ok(a, ['forecast']);
    expect(local.rows_out).toBeGreaterThan(20);

    const p = planForecastPartitions(new Workspace(b), {});
    expect(p.model_id).toBe(local.model_id);
    const dir = join(root, 'stage');
    await mkdir(dir);
    await writeFile(join(dir, 'plan.json'), JSON.stringify(p));
    const groups = [0, 1, 2].map((g) => p.buckets.filter((_, i) => i % 3 === g));
    const parts = groups.map((g, i) => ok(b, ['forecast', '--plan', join(dir, 'plan.json'), '--buckets', g.join(','), '--stage', join(dir, `p${i}`)]));
    expect(parts.reduce((s, x) => s + x.rows, 0)).toBe(local.rows_out);
    expect(stored(b).runs).toBe(stored(a).runs - 1); // nothing written by the partitions
    const commit = async (name: string, stages: string[]): Promise<string> => {
      const f = join(dir, `${name}.json`);
      await writeFile(f, JSON.stringify({ version: 1, commit_key: 'run-1.forecast', plan: p, stages }));
      return f;
    };
    const miss = runCli(['forecast', '-w', b, '--json', '--commit-stage', await commit('missing', parts.slice(1).map((x) => x.stage))]);
    expect(miss.json.error?.code).toBe('SP_ERR_PARTITION_STAGE');
    expect(stored(b).runs).toBe(stored(a).runs - 1);

    const file = await commit('all', parts.map((x) => x.stage));
    const r = ok(b, ['forecast', '--commit-stage', file]);
    expect({ ...r, run_id: '', seconds: 0 }).toEqual({ ...local, run_id: '', seconds: 0 });
    expect(stored(b)).toEqual(stored(a));
    // A replay (the runner killed after the commit): the same run, nothing written.
    const again = ok(b, ['forecast', '--commit-stage', file]);
    expect(again.run_id).toBe(r.run_id);
    expect(stored(b)).toEqual(stored(a));
  }, 180_000);
});
