/** Lineage through the CLI (docs/cli.md, `stockpipe lineage`): standalone fetch → ingest → features →
 * train records one run per command, and `lineage model champion` resolves model → run → features
 * snapshot → prices snapshot → source manifest → ingest run; `lineage snapshot N` lists the model back;
 * a failed command leaves a failed run; unknown ids answer their codes; a pipeline's task commands are
 * children of the pipeline run, never top-level runs of their own. */
import { describe, expect, it } from 'vitest';
import { openRegistry } from '../src/registry/store.js';
import { runCli } from './helpers/cli.js';
import { tempWorkspace } from './helpers/workspace.js';

const SMALL = { STOCKPIPE_SYMBOLS: '12', STOCKPIPE_YEARS: '2', STOCKPIPE_THREADS: '2' };

function sp(ws: string, ...args: string[]) {
  return runCli([...args, '-w', ws, '--json'], { env: SMALL });
}

function ok(ws: string, ...args: string[]): Record<string, any> {
  const r = sp(ws, ...args);
  expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r.json.data;
}

describe('stockpipe lineage', () => {
  it('follows a standalone model to its source files and back; a failed command leaves a failed run', async () => {
    const ws = await tempWorkspace('lineage');
    ok(ws, 'fetch');
    const ingest = ok(ws, 'ingest');
    const features = ok(ws, 'features');
    const train = ok(ws, 'train', '--kind', 'naive');

    const l = ok(ws, 'lineage', 'model', 'champion', '--files', '3');
    expect(l.missing).toEqual([]);
    expect(l.model.id).toBe(train.model_id);
    expect(l.model.aliases).toContain('champion');
    expect(l.run).toMatchObject({ kind: 'train', status: 'finished', parent_run_id: null });
    expect(l.run.params['data.features_snapshot']).toBe(String(l.features_snapshot.id));
    expect(l.features_snapshot).toMatchObject({ table: 'features', written_by: { kind: 'features', status: 'finished' } });
    expect(l.prices_snapshot).toMatchObject({ id: ingest.snapshot_id, table: 'prices', written_by: { kind: 'ingest', status: 'finished' } });
    expect(l.features_snapshot.source.prices_snapshot).toBe(l.prices_snapshot.id);
    expect(l.source.ingest_run.run_id).toBe(l.prices_snapshot.written_by.run_id);
    expect(l.source.manifest_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(l.source.path).toBe('raw/synthetic/manifest.json');
    expect(l.source.files).toHaveLength(3);
    expect(l.source.files_total).toBeGreaterThan(12);
    expect(l.source.files[0]).toEqual({ path: expect.any(String), size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/), rows: expect.any(Number) });

    // `runs show` finds the training run the model names (a command run, not a pipeline run).
    const run = ok(ws, 'runs', 'show', l.run.run_id);
    expect(run).toMatchObject({ run_id: l.run.run_id, kind: 'train', status: 'finished', models: [{ id: train.model_id }] });
    expect(run.read.map((s: { id: number }) => s.id)).toEqual([l.features_snapshot.id]);

    // Back from the prices snapshot: its writer, the features snapshot built from it, the model through it.
    const p = ok(ws, 'lineage', 'snapshot', String(l.prices_snapshot.id));
    expect(p.snapshot.written_by.run_id).toBe(l.prices_snapshot.written_by.run_id);
    expect(p.derived.map((s: { id: number }) => s.id)).toEqual([l.features_snapshot.id]);
    expect(p.read_by.map((r: { kind: string }) => r.kind)).toContain('features');
    expect(p.models).toEqual([expect.objectContaining({ id: train.model_id, via: 'prices', features_snapshot: l.features_snapshot.id })]);
    const f = ok(ws, 'lineage', 'snapshot', String(features.snapshot_id ?? l.features_snapshot.id));
    expect(f.built_from.id).toBe(l.prices_snapshot.id);
    expect(f.models).toEqual([expect.objectContaining({ id: train.model_id, via: 'features' })]);
    expect(f.read_by.map((r: { run_id: string }) => r.run_id)).toContain(l.run.run_id);

    // One run per command, in the store: `runs list` keeps its pipeline default; --kind shows the rest.
    expect(ok(ws, 'runs', 'list').runs).toEqual([]);
    const all = ok(ws, 'runs', 'list', '--kind', 'all');
    expect(all.runs.map((r: { kind: string }) => r.kind).sort()).toEqual(['features', 'fetch', 'ingest', 'train']);

    // A failed command leaves a failed run with its code; unknown ids answer theirs.
    const bad = sp(ws, 'ingest', '--from', 'nope');
    expect(bad.code).toBe(1);
    const failed = ok(ws, 'runs', 'list', '--kind', 'ingest', '--status', 'failed').runs;
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ kind: 'ingest', status: 'failed', parent_run_id: null, error: expect.stringMatching(/^SP_ERR_NO_RAW_DATA: /) });
    const failedParams = ok(ws, 'lineage', 'run', failed[0].run_id).run.params;
    expect(failedParams['option.from']).toBe('nope');
    // its process is recorded, as a pipeline run's runner is: a run a killed command leaves 'running' reads 'abandoned'
    expect(failedParams.runner_pid).toMatch(/^\d+$/);
    expect(failedParams.runner_host).toBeTruthy();
    expect(sp(ws, 'lineage', 'model', 'nope').json.error?.code).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    expect(sp(ws, 'lineage', 'snapshot', '999').json.error?.code).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    expect(sp(ws, 'lineage', 'run', 'nope').json.error?.code).toBe('SP_ERR_LINEAGE_NOT_FOUND');
    const usage = sp(ws, 'lineage', 'snapshot', 'x');
    expect([usage.code, usage.json.error?.code]).toEqual([2, 'SP_ERR_USAGE']);
    expect(sp(ws, 'runs', 'show', 'nope').json.error?.code).toBe('SP_ERR_RUN_NOT_FOUND');
    // An id pasted wrong (a whole log line) is echoed cut to 100 characters, as every echoed input is.
    const long = 'r'.repeat(5000);
    for (const args of [['runs', 'show', long], ['runs', 'logs', long, 'ingest'], ['run', 'train', '--resume', long], ['lineage', 'run', long]]) {
      const e = sp(ws, ...args).json.error;
      expect([e?.code, e?.message.length !== undefined && e.message.length < 400, e?.message.includes(`'${'r'.repeat(100)}… (5000 characters)'`)], args.join(' ')).toEqual([args[0] === 'lineage' ? 'SP_ERR_LINEAGE_NOT_FOUND' : 'SP_ERR_RUN_NOT_FOUND', true, true]);
    }
  }, 120_000);

  it("a pipeline's task commands are children of the pipeline run, and its model's lineage resolves", async () => {
    const ws = await tempWorkspace('lineage-run');
    const run = ok(ws, 'run', 'train');
    const reg = openRegistry(ws, { readonly: true });
    let rows: { run_id: string; kind: string; parent_run_id: string | null }[];
    try {
      rows = reg.all('test', 'SELECT run_id, kind, parent_run_id FROM runs');
    } finally {
      reg.close();
    }
    // The only top-level run is the pipeline's; each task command is its child, one run per command.
    expect(rows.filter((r) => r.parent_run_id === null)).toEqual([{ run_id: run.run_id, kind: 'pipeline', parent_run_id: null }]);
    const children = rows.filter((r) => r.parent_run_id === run.run_id).map((r) => r.kind).sort();
    expect(children.filter((k) => k === 'train')).toHaveLength(1);
    expect(children).toEqual(expect.arrayContaining(['evaluate', 'features', 'fetch', 'ingest', 'train', 'validate']));
    expect(ok(ws, 'runs', 'list', '--parent', run.run_id).total).toBe(children.length);
    const show = ok(ws, 'runs', 'show', run.run_id);
    expect(show.child_runs).toHaveLength(children.length);

    const l = ok(ws, 'lineage', 'model', 'champion', '--files', '0');
    expect(l.missing).toEqual([]);
    expect(l.run.parent_run_id).toBe(run.run_id);
    expect(l.run.params['pipeline.task']).toBe('train');
    expect(l.source.files).toEqual([]);
    const parent = ok(ws, 'lineage', 'run', run.run_id);
    expect(parent.children.map((c: { run_id: string }) => c.run_id)).toContain(l.run.run_id);
  }, 180_000);
});
