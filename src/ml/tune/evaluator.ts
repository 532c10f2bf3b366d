/** @module ml/tune/evaluator
 * The evaluator a study uses, in one place (the lanes in this thread and the trial workers both
 * take it from here): the expanding-window CV of ml/tune/cv-local. */
import type { CvData, Evaluator } from './evaluate.js';
import { localCvEvaluator } from './cv-local.js';

export function studyEvaluator(data: CvData, folds: number): Evaluator {
  return localCvEvaluator(data, folds);
}
