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

/** Builds the task specs of a pipeline for one workspace and config. */
export function buildPipeline(name: string, penv: PipelineEnv): Pipeline {
  if (name === 'train') return trainPipeline(taskKit(penv));
  if (name === 'daily') return dailyPipeline(taskKit(penv));
  throw new StockpipeError('SP_ERR_PIPELINE_UNKNOWN', `no pipeline '${name}'`, { hint: `Pipelines: ${PIPELINE_NAMES.join(', ')}.` });
}
