/** @module ml/gbdt/objectives
 * Objective registry by name: the trainer and the worker kernels look objectives up here, so a
 * new objective is one file plus one line below. */
import type { Objective } from './objective.js';
import { l2 } from './l2.js';

export type { Objective } from './objective.js';

export const OBJECTIVES = { l2 } as const satisfies Record<string, Objective>;
export type ObjectiveName = keyof typeof OBJECTIVES;

export function isObjectiveName(name: string): name is ObjectiveName {
  return Object.hasOwn(OBJECTIVES, name);
}

/** The objective called `name` (names are validated with the training params). */
export function getObjective(name: string): Objective {
  if (!isObjectiveName(name)) throw new Error(`unknown objective ${JSON.stringify(name)}`);
  return OBJECTIVES[name];
}
