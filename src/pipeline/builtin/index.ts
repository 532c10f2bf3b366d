/** @module pipeline/builtin
 * The built-in pipelines by name (train: the volume model; daily: the day-ahead forecast, monitoring
 * and retraining), each task running its command in a child process (./tasks). */
import { StockpipeError } from '../../core/errors.js';
import { countPipelineRuns } from '../../registry/pipeline.js';
import type { Registry } from '../../registry/store.js';
import type { Pipeline } from '../types.js';
import { dailyPipeline } from './daily.js';
import { taskKit, type PipelineEnv } from './tasks.js';
import { trainPipeline } from './train.js';

export type { PipelineEnv } from './tasks.js';

export const PIPELINE_NAMES = ['train', 'daily'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

/** `name` as a pipeline's name; SP_ERR_PIPELINE_UNKNOWN when there is no such pipeline (`what`: the parameter or flag that gave it, named in the message). */
export function pipelineName(name: string, what?: string): PipelineName {
  const known = PIPELINE_NAMES.find((n) => n === name);
  if (known === undefined) throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `${what === undefined ? '' : `${what}: `}no pipeline '${name.slice(0, 100)}'`, { hint: `Pipelines: ${PIPELINE_NAMES.join(', ')}.` });
  return known;
}

/**
 * A list filtered by pipeline `name` came back empty: SP_ERR_PIPELINE_UNKNOWN when no pipeline has
 * that name and no run in the history has it either (a typo, not "no runs yet"); else nothing.
 */
export function checkListedPipeline(reg: Registry, name: string | undefined, what: string): void {
  if (name === undefined || PIPELINE_NAMES.some((n) => n === name) || countPipelineRuns(reg, { pipeline: name }) > 0) return;
  pipelineName(name, what);
}

/** Builds the task specs of a pipeline for one workspace and config. */
export function buildPipeline(name: string, penv: PipelineEnv): Pipeline {
  return pipelineName(name) === 'train' ? trainPipeline(taskKit(penv)) : dailyPipeline(taskKit(penv));
}
