/** @module pipeline/builtin
 * The built-in pipelines by name (train: the volume model; daily: the day-ahead forecast, monitoring
 * and retraining), each task running its command in a child process (./tasks). */
import { StockpipeError } from '../../core/errors.js';
import type { Pipeline } from '../types.js';
import { dailyPipeline } from './daily.js';
import { taskKit, type PipelineEnv } from './tasks.js';
import { trainPipeline } from './train.js';

export type { PipelineEnv } from './tasks.js';

export const PIPELINE_NAMES = ['train', 'daily'] as const;
export type PipelineName = (typeof PIPELINE_NAMES)[number];

/** `name` as a pipeline's name; SP_ERR_PIPELINE_UNKNOWN when there is no such pipeline. */
export function pipelineName(name: string): PipelineName {
  const known = PIPELINE_NAMES.find((n) => n === name);
  if (known === undefined) throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `no pipeline '${name}'`, { hint: `Pipelines: ${PIPELINE_NAMES.join(', ')}.` });
  return known;
}

/** Builds the task specs of a pipeline for one workspace and config. */
export function buildPipeline(name: string, penv: PipelineEnv): Pipeline {
  return pipelineName(name) === 'train' ? trainPipeline(taskKit(penv)) : dailyPipeline(taskKit(penv));
}
