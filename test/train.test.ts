/** train / evaluate / models through the CLI on a small synthetic workspace (SPEC §4, §5, §10.1). */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempWorkspace } from './helpers/workspace.js';

const CLI = join(resolve(fileURLToPath(new URL('.', import.meta.url)), '..'), 'dist', 'cli', 'main.js');

interface Doc {
  ok: boolean;
  data: Record<string, any>;
  error?: { code: string; message: string };
}

function sp(ws: string, args: string[]): { status: number; doc: Doc; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args, '-w', ws, '--json'], { encoding: 'utf8' });
  return { status: r.status ?? -1, doc: JSON.parse(r.stdout.trim().split('\n').pop() || '{}') as Doc, stderr: r.stderr };
}

let ws = '';
beforeAll(async () => {
  ws = await tempWorkspace();
  for (const step of [['fetch', '--symbols', '40', '--years', '4'], ['ingest'], ['features']]) expect(sp(ws, step).status).toBe(0);
}, 120_000);

describe('stockpipe train / evaluate / models', () => {
  it('trains a gbdt with the §10.1 fields, writes the four artifacts, registers and promotes it', async () => {
    const r = sp(ws, ['train', '--trees', '30', '--promote-if-better']);
    expect(r.status, r.stderr).toBe(0);
    const d = r.doc.data;
    for (const k of ['model_id', 'kind', 'rows_train', 'rows_valid', 'rows_test', 'seconds', 'metrics']) expect(d, k).toHaveProperty(k);
    expect(d.kind).toBe('gbdt');
    expect(d.split.kind).toBe('time');
    for (const kind of ['gbdt', 'polyreg', 'naive']) for (const m of ['mae', 'rmse', 'r2', 'mae_log', 'rmse_log', 'r2_log']) expect(Number.isFinite(d.metrics[kind][m]), `${kind}.${m}`).toBe(true);
    for (const f of ['model.json', 'metrics.json', 'training.log', 'card.md']) expect(existsSync(join(d.path, f)), f).toBe(true);
    const log = (await readFile(join(d.path, 'training.log'), 'utf8')).trim().split('\n').filter((l) => /^\d/.test(l));
    expect(log.length).toBeGreaterThan(1);
    const losses = log.map((l) => Number(l.split(' ')[1]));
    expect(losses[losses.length - 1]!).toBeLessThan(losses[0]!);
    expect(d.promotion.promoted).toBe(true);
    const list = sp(ws, ['models', 'list']);
    expect(list.doc.data[0]).toMatchObject({ id: d.model_id, kind: 'gbdt', aliases: ['champion'] });
    for (const k of ['id', 'kind', 'created_at', 'aliases', 'metrics']) expect(list.doc.data[0]).toHaveProperty(k);
  });

  it('is deterministic: the same data, seed and threads give a byte-identical model.json', async () => {
    const a = sp(ws, ['train', '--trees', '15', '--seed', '7', '--bagging-fraction', '0.8']);
    const b = sp(ws, ['train', '--trees', '15', '--seed', '7', '--bagging-fraction', '0.8']);
    expect(a.status).toBe(0);
    const ja = await readFile(join(a.doc.data.path, 'model.json'), 'utf8');
    const jb = await readFile(join(b.doc.data.path, 'model.json'), 'utf8');
    expect(ja).toBe(jb);
  });

  it('evaluate reports the model next to every baseline on the same time slice, with slices', () => {
    expect(sp(ws, ['train', '--kind', 'rf', '--trees', '10']).status).toBe(0);
    const r = sp(ws, ['evaluate']);
    expect(r.status, r.stderr).toBe(0);
    const d = r.doc.data;
    expect(Object.keys(d.metrics).sort()).toEqual(['gbdt', 'naive', 'polyreg', 'rf']);
    expect(d.test.rows).toBeGreaterThan(0);
    expect(d.test.date_min <= d.test.date_max).toBe(true);
    expect(Object.keys(d.slices.by_asset).sort()).toEqual(['etf', 'stock']);
    expect(d.slices.by_volume_decile.length).toBe(10);
  });

  it('the random split is labelled leaky', () => {
    const r = sp(ws, ['train', '--kind', 'polyreg', '--split', 'random']);
    expect(r.doc.data.split).toMatchObject({ kind: 'random', leaky: true });
  });

  it('models promote re-scores the champion on the other slice: a worse model is refused unless forced; models at answers from history', () => {
    const other = sp(ws, ['train', '--kind', 'naive', '--test-from', '2012-06-01']);
    expect(other.status).toBe(0);
    const refused = sp(ws, ['models', 'promote', other.doc.data.model_id]);
    expect(refused.status).toBe(1);
    expect(refused.doc.error!.code).toBe('SP_ERR_PROMOTE_REFUSED');
    const forced = sp(ws, ['models', 'promote', other.doc.data.model_id, '--force']);
    expect(forced.status).toBe(0);
    const at = sp(ws, ['models', 'at', new Date().toISOString()]);
    expect(at.doc.data.model_id).toBe(other.doc.data.model_id);
  });

  it('bad input: no features, a window larger than every series → SP_ERR_TRAIN_DATA, nothing registered', async () => {
    const empty = await tempWorkspace();
    const r = sp(empty, ['train']);
    expect(r.status).toBe(1);
    expect(r.doc.error!.code).toBe('SP_ERR_TRAIN_DATA');
    expect(existsSync(join(empty, 'models'))).toBe(false);
    const w2 = await tempWorkspace();
    for (const step of [['fetch', '--symbols', '12', '--years', '1'], ['ingest'], ['features', '--window', '1000']]) expect(sp(w2, step).status).toBe(0);
    const t = sp(w2, ['train']);
    expect(t.doc.error!.code).toBe('SP_ERR_TRAIN_DATA');
    expect(sp(w2, ['models', 'list']).doc.data).toEqual([]);
  });

  it('a missing or corrupt model file gives SP_ERR_MODEL_* with the path', async () => {
    const list = sp(ws, ['models', 'list']).doc.data as { id: string }[];
    const id = list[list.length - 1]!.id;
    const show = sp(ws, ['models', 'show', id]);
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(show.doc.data.path, 'model.json'), '{"format":"stockpipe-trees","format_version":99}');
    const r = sp(ws, ['evaluate', id]);
    expect(r.status).toBe(1);
    expect(r.doc.error!.code).toBe('SP_ERR_MODEL_FORMAT');
    expect(r.doc.error!.message).toContain(show.doc.data.path);
  });

  it('after the data grew, --promote-if-better re-scores the champion on the new test slice instead of refusing', async () => {
    const w = await tempWorkspace();
    for (const step of [['fetch', '--symbols', '15', '--years', '2'], ['ingest'], ['features']]) expect(sp(w, step).status).toBe(0);
    const first = sp(w, ['train', '--trees', '20', '--promote-if-better']);
    expect(first.doc.data.promotion.promoted).toBe(true);
    for (const step of [['fetch', '--symbols', '15', '--years', '3', '--switch-source'], ['ingest'], ['features']]) expect(sp(w, step).status).toBe(0);
    const second = sp(w, ['train', '--kind', 'polyreg', '--promote-if-better']);
    expect(second.status, second.stderr).toBe(0);
    const p = second.doc.data.promotion;
    expect(p).toMatchObject({ champion_before: first.doc.data.model_id, holder_rescored: true, same_test_slice: true });
    expect(Number.isFinite(p.champion_value)).toBe(true);
    expect(p.champion_value).not.toBe(first.doc.data.metrics.gbdt.rmse_log); // measured on the new rows
    expect(p.promoted).toBe(p.candidate_value < p.champion_value);
  }, 120_000);
});
