/** @module test/helpers/models
 * Registers small real models (polyreg / naive) in a workspace, for serving tests. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fitPolyreg, naiveModel } from '../../src/ml/baselines.js';
import { openRegistry } from '../../src/registry/store.js';

/** A polyreg fitted on a synthetic relation; returns its model.json text. */
export function polyJson(scale = 1): string {
  const n = 400;
  const vma = new Float64Array(n);
  const acm = new Float64Array(n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    vma[i] = 1000 + ((i * 7919) % 500000);
    acm[i] = -5 + ((i * 104729) % 400) / 3;
    y[i] = scale * vma[i]! * (1 + 0.001 * acm[i]!);
  }
  return `${JSON.stringify(fitPolyreg(vma, acm, y, Int32Array.from({ length: n }, (_, i) => i)))}\n`;
}

export async function registerModel(workspace: string, id: string, modelJson: string, opts: { kind?: 'polyreg' | 'naive'; alias?: string; rmseLog?: number } = {}): Promise<string> {
  const dir = join(workspace, 'models', id);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'model.json'), modelJson);
  const reg = openRegistry(workspace);
  try {
    const kind = opts.kind ?? 'polyreg';
    const m = { mae: 1, rmse: 1, r2: 0.5, mae_log: 0.5, rmse_log: opts.rmseLog ?? 0.5, r2_log: 0.5 };
    // The backtest promotion compares (the same folds for every model here): its rmse_log is the test one.
    const selection = { kind: 'cv' as const, data_hash: 'h', windows: [{ from: '2019-10-01', to: '2019-12-31', rows: 50 }], metrics: { rmse_log: m.rmse_log } };
    reg.registerModel({ model_id: id, kind, path: dir, metrics: { [kind]: m }, test_slice: { date_min: '2020-01-01', date_max: '2020-12-31', rows: 100, data_hash: 'h', selection } });
    if (opts.alias) reg.setAlias(opts.alias, id, 'manual');
  } finally {
    reg.close();
  }
  return dir;
}

export const naiveJson = (): string => `${JSON.stringify(naiveModel())}\n`;
