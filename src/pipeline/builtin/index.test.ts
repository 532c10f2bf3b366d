import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, PIPELINE_TASK_NAMES } from '../../core/config.js';
import { Workspace } from '../../core/workspace.js';
import { INGEST_VERSION } from '../../etl/ingest-report.js';
import { FEATURES_VERSION } from '../../features/build.js';
import { openRegistry } from '../../registry/store.js';
import { resolveParams } from '../runner.js';
import { buildPipeline, PIPELINE_NAMES } from './index.js';

describe('built-in pipelines', () => {
  it('their tasks are the names the config takes under pipeline.tasks, and each gets its settings', () => {
    const config = loadConfig({ file: { pipeline: { tasks: { 'forecast-model': { timeout_s: 60, retries: 0 } } } }, env: {}, flags: {}, origin: 'test' });
    const penv = { ws: new Workspace('/nonexistent/ws'), config, globalArgs: [], env: {}, mainScript: 'main.js', codeVersion: 'test' };
    const tasks = PIPELINE_NAMES.flatMap((name) => buildPipeline(name, penv).tasks);
    expect([...new Set(tasks.map((t) => t.name))].sort()).toEqual([...PIPELINE_TASK_NAMES].sort());
    expect(tasks.find((t) => t.name === 'forecast-model')).toMatchObject({ timeoutMs: 60_000, retries: 0 });
  });

  it("key ingest and features by their own versions too, so a run after an update that changes their output runs them again (the program's version stays 0.1.0)", () => {
    const config = loadConfig({ file: {}, env: {}, flags: {}, origin: 'test' });
    const penv = { ws: new Workspace('/nonexistent/ws'), config, globalArgs: [], env: {}, mainScript: 'main.js', codeVersion: 'test' };
    for (const name of PIPELINE_NAMES) {
      const tasks = buildPipeline(name, penv).tasks;
      expect(tasks.find((t) => t.name === 'ingest')?.version).toBe(`test/${INGEST_VERSION}`);
      expect(tasks.find((t) => t.name === 'features')?.version).toBe(`test/${FEATURES_VERSION}`);
    }
  });

  it("key daily's forecast by the forecast_champion it forecasts with: a champion moved on the same features forecasts again", () => {
    const root = mkdtempSync(join(tmpdir(), 'sp-daily-key-'));
    try {
      const reg = openRegistry(new Workspace(root));
      for (const id of ['forecast-a', 'forecast-b']) {
        const dir = join(root, 'models', id);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'model.json'), '{}');
        reg.registerModel({ model_id: id, kind: 'forecast', path: dir, metrics: {}, test_slice: null });
      }
      const config = loadConfig({ file: {}, env: {}, flags: {}, origin: 'test' });
      const forecast = buildPipeline('daily', { ws: new Workspace(root), config, globalArgs: [], env: {}, mainScript: 'main.js', codeVersion: 'test' }).tasks.find((t) => t.name === 'forecast')!;
      const key = (): Record<string, unknown> => resolveParams(forecast.params, {});
      expect(key()).toEqual({ model_id: null });
      reg.setAlias('forecast_champion', 'forecast-a', 'manual');
      expect(key()).toEqual({ model_id: 'forecast-a' });
      // `models promote` (or the daily retrain) moved it: another key, so the task is not cached with forecast-a's forecasts.
      reg.setAlias('forecast_champion', 'forecast-b', 'manual');
      expect(key()).toEqual({ model_id: 'forecast-b' });
      reg.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
