import { describe, expect, it } from 'vitest';
import { loadConfig, PIPELINE_TASK_NAMES } from '../../core/config.js';
import { Workspace } from '../../core/workspace.js';
import { buildPipeline, PIPELINE_NAMES } from './index.js';

describe('built-in pipelines', () => {
  it('their tasks are the names the config takes under pipeline.tasks, and each gets its settings', () => {
    const config = loadConfig({ file: { pipeline: { tasks: { 'forecast-model': { timeout_s: 60, retries: 0 } } } }, env: {}, flags: {}, origin: 'test' });
    const penv = { ws: new Workspace('/nonexistent/ws'), config, globalArgs: [], env: {}, mainScript: 'main.js', codeVersion: 'test' };
    const tasks = PIPELINE_NAMES.flatMap((name) => buildPipeline(name, penv).tasks);
    expect([...new Set(tasks.map((t) => t.name))].sort()).toEqual([...PIPELINE_TASK_NAMES].sort());
    expect(tasks.find((t) => t.name === 'forecast-model')).toMatchObject({ timeoutMs: 60_000, retries: 0 });
  });
});
