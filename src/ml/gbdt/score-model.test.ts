import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createRng } from '../../core/rng.js';
import { trainGbdt } from './booster.js';
import { trainForest } from './forest.js';
import { predictBatch, toJSON, type TreeModel } from './model.js';
import { synthetic } from './test-data.js';

const SCORER = fileURLToPath(new URL('../../../tools/score_model.py', import.meta.url));
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const hasPython = python.status === 0;
if (!hasPython) console.warn(`skipping the Python scorer test: python3 is not runnable (${python.error?.message ?? python.stderr})`);

const dir = mkdtempSync(join(tmpdir(), 'sp-score-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Scores 1,000 random rows (some NaN) with the Python scorer and with predictBatch. */
function compare(model: TreeModel, name: string): void {
  const rng = createRng(77);
  const n = 1000;
  const cols = [new Float64Array(n), new Float64Array(n)];
  const lines = ['extra,x1,x0'];
  for (let i = 0; i < n; i++) {
    cols[0]![i] = i % 97 === 5 ? NaN : rng.next() * 12 - 1;
    cols[1]![i] = i % 89 === 7 ? NaN : rng.normal() * 1.5;
    const f = (v: number): string => (Number.isNaN(v) ? '' : String(v));
    lines.push(`${i},${f(cols[1]![i]!)},${f(cols[0]![i]!)}`);
  }
  const modelPath = join(dir, `${name}.json`);
  writeFileSync(modelPath, toJSON(model));
  const r = spawnSync('python3', [SCORER, modelPath], { input: `${lines.join('\n')}\n`, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const got = r.stdout.trim().split('\n').map(Number);
  const want = predictBatch(model, cols, new Float64Array(n));
  expect(got).toHaveLength(n);
  for (let i = 0; i < n; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-12 * Math.max(1e-300, Math.abs(want[i]!)));
}

describe.skipIf(!hasPython)('tools/score_model.py', () => {
  it('equals predictBatch to 1e-12 relative (gbdt, log1p target)', async () => {
    const d = synthetic(5_000, 41);
    const y = Float64Array.from(d.y, (v) => Math.log1p(Math.exp(v + 8)));
    const { model } = await trainGbdt({ ...d, y, targetTransform: 'log1p' }, null, { num_trees: 30, max_depth: 5, num_leaves: 32 });
    compare(model, 'gbdt');
  });

  it('equals predictBatch to 1e-12 relative (gbdt boosted from a log1p offset of feature 0)', async () => {
    const d = synthetic(5_000, 43);
    const y = Float64Array.from(d.y, (v) => Math.log1p(Math.exp(v + 8)));
    const { model } = await trainGbdt({ ...d, y, targetTransform: 'log1p' }, null, { num_trees: 20, max_depth: 4, num_leaves: 16 });
    model.offset = { feature: 0, transform: 'log1p' };
    compare(model, 'gbdt-offset');
  });

  it('equals predictBatch to 1e-12 relative (gbdt, poisson: log link)', async () => {
    const d = synthetic(5_000, 44);
    const y = Float64Array.from(d.y, (v) => Math.round(Math.exp(v + 3)));
    const { model } = await trainGbdt({ ...d, y }, null, { objective: 'poisson', num_trees: 25, max_depth: 4, num_leaves: 16 });
    expect(model.targetTransform).toBe('log');
    compare(model, 'gbdt-poisson');
  });

  it('equals predictBatch to 1e-12 relative (gbdt, tweedie: log link, boosted from a log1p offset of feature 0)', async () => {
    const d = synthetic(5_000, 45);
    const y = Float64Array.from(d.y, (v, i) => (1 + d.columns[0]![i]!) * Math.exp(v));
    const { model } = await trainGbdt({ ...d, y }, null, { objective: 'tweedie', tweedie_variance_power: 1.3, num_trees: 25, max_depth: 4, num_leaves: 16 });
    expect(model.targetTransform).toBe('log');
    model.offset = { feature: 0, transform: 'log1p' };
    compare(model, 'gbdt-tweedie');
  });

  it('equals predictBatch to 1e-12 relative (random forest)', async () => {
    const { model } = await trainForest(synthetic(5_000, 42), { num_trees: 15 });
    compare(model, 'rf');
  });

  it('rejects a wrong format version', () => {
    const p = join(dir, 'bad.json');
    writeFileSync(p, JSON.stringify({ format: 'stockpipe-trees', format_version: 2 }));
    const r = spawnSync('python3', [SCORER, p], { input: 'x0,x1\n1,2\n', encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/format_version/);
  });
});
