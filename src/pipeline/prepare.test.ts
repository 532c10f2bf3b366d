import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/temp.js';
import { Workspace } from '../core/workspace.js';
import type { StockpipeError } from '../core/errors.js';
import { createPipelineRun } from '../registry/pipeline.js';
import { openRegistry } from '../registry/store.js';
import { resumableRun } from './prepare.js';

const refusal = (f: () => unknown): StockpipeError => {
  try {
    f();
  } catch (err) {
    return err as StockpipeError;
  }
  throw new Error('not refused');
};

describe('resumableRun of an id that is no pipeline run', () => {
  // Probed: `run --resume <the train run a pipeline ran>` (runs list --kind all lists it) said "no pipeline run '<id>'"
  // and hinted `runs list --kind all`, which lists that very run.
  it('says it is a command run and names the pipeline run that ran it, or the command to run again', async () => {
    const reg = openRegistry(new Workspace(await tempDir('resume-cmd')));
    try {
      const pipe = createPipelineRun(reg, { pipeline: 'daily', tasks: ['train'], params: { edges: [] } });
      reg.endRun(pipe, 'failed', 'train failed');
      reg.startRun({ kind: 'train', run_id: 'c-in-pipeline', name: 'train', parent_run_id: pipe });
      reg.logParams('c-in-pipeline', { 'pipeline.task': 'train' });
      reg.startRun({ kind: 'ingest', run_id: 'c-alone', name: 'ingest --strict' });
      const inPipeline = refusal(() => resumableRun(reg, 'c-in-pipeline', 'train'));
      expect([inPipeline.code, inPipeline.message]).toEqual(['SP_ERR_RUN_NOT_FOUND', 'run c-in-pipeline is a train command run, not a pipeline run: `run --resume` continues pipeline runs']);
      expect(inPipeline.hint).toBe(`It ran as task train of daily run ${pipe}: \`stockpipe run --resume ${pipe}\` continues that run.`);
      const alone = refusal(() => resumableRun(reg, 'c-alone', 'train'));
      expect([alone.message, alone.hint]).toEqual(['run c-alone is an ingest command run, not a pipeline run: `run --resume` continues pipeline runs', 'Run the command again: `stockpipe ingest --strict`.']);
      const none = refusal(() => resumableRun(reg, 'no-such-run', 'train'));
      expect(none.message).toBe("no pipeline run 'no-such-run'");
      expect(none.hint).toMatch(new RegExp(`^The newest pipeline runs: ${pipe} \\(pipeline daily, failed, started [^)]+\\); \`stockpipe runs list\` lists them\\.$`));
    } finally {
      reg.close();
    }
  });
});
