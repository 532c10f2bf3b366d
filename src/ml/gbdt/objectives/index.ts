/** @module ml/gbdt/objectives
 * Objective registry by name: the trainer and the worker kernels look objectives up here, so a
 * new objective is one file plus one line below. */
import type { Objective } from './objective.js';
import { huber, HUBER_DEFAULT_DELTA } from './huber.js';
import { l2 } from './l2.js';
import { poisson } from './poisson.js';
import { tweedie, TWEEDIE_DEFAULT_POWER } from './tweedie.js';

export type { Objective } from './objective.js';
export { HUBER_DEFAULT_DELTA } from './huber.js';
export { TWEEDIE_DEFAULT_POWER } from './tweedie.js';

/** The settings some objectives take (tweedie's variance power, huber's δ). */
export interface ObjectiveSettings {
  tweediePower?: number;
  huberDelta?: number;
}

/** Each objective by name, made for its settings. */
const OBJECTIVES = {
  l2: () => l2,
  poisson: () => poisson,
  tweedie: (s: ObjectiveSettings) => tweedie(s.tweediePower ?? TWEEDIE_DEFAULT_POWER),
  huber: (s: ObjectiveSettings) => huber(s.huberDelta ?? HUBER_DEFAULT_DELTA),
} as const satisfies Record<string, (s: ObjectiveSettings) => Objective>;
export type ObjectiveName = keyof typeof OBJECTIVES;
export const OBJECTIVE_NAMES = Object.keys(OBJECTIVES) as ObjectiveName[];

export function isObjectiveName(name: string): name is ObjectiveName {
  return Object.hasOwn(OBJECTIVES, name);
}

/** The objective called `name` (names are validated with the training params). */
export function getObjective(name: string, settings: ObjectiveSettings = {}): Objective {
  if (!isObjectiveName(name)) throw new Error(`unknown objective ${JSON.stringify(name)}`);
  return OBJECTIVES[name](settings);
}
